// `make lighthouse`: Lighthouse 12 (mobile preset, simulated throttling) in Debian chromium on the
// storefront's public pages against `make dev`'s stack, written to docs/lighthouse.md. Scores move
// from run to run, so they are a report; layout shift, axe-core and Lighthouse's accessibility,
// best-practice and SEO audits are asserted by the browser journeys instead (shop.test.mjs).

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { lighthouseRuns, publicPages, root, startStack } from './stack.mjs';

const stack = await startStack();
try {
  const runs = await lighthouseRuns(await publicPages(stack), ['performance', 'accessibility', 'best-practices', 'seo']);
  const rows = runs.map(([name, lhr]) => {
    const score = (c) => lhr.categories[c].score.toFixed(2);
    const audit = (a) => lhr.audits[a].displayValue.replace(/\s/g, ' ');
    return `| ${name} | ${score('performance')} | ${score('accessibility')} | ${score('best-practices')} | ${score('seo')} | ${audit('cumulative-layout-shift')} | ${audit('largest-contentful-paint')} | ${audit('total-blocking-time')} |`;
  });
  console.log(rows.join('\n'));
  writeFileSync(path.join(root, 'docs/lighthouse.md'), `# Lighthouse report

Lighthouse ${runs[0][1].lighthouseVersion}, mobile preset (simulated slow 4G and 4x CPU slowdown), Debian chromium, against
\`make dev\` (the storefront from the site bucket through the CDN's path function, in front of s3rver; the
functions under \`cargo lambda watch\`, debug builds). Home (\`/\`), category (\`/category/coffee\`) and product
(\`/products/<slug>\`) are the pages render-pages prerenders; search (\`/search?q=tea\`), cart, sign-in and register
are drawn by the script. Written by
\`make lighthouse\` on ${new Date().toISOString().slice(0, 10)}; scores vary from run to run. Signed-in pages are not
reached by Lighthouse's fresh loads: the browser journeys assert layout shift (<= 0.02) and accessibility
(axe-core, 0 violations) on every page, signed in or not, and that every Lighthouse accessibility,
best-practice and SEO audit passes on the pages below.

| page | performance | accessibility | best practices | SEO | CLS | LCP | TBT |
|---|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}
`);
} finally {
  await stack.stop();
}
