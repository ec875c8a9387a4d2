// `make lighthouse`: Lighthouse 12 (mobile preset, simulated throttling) in Debian chromium on the
// storefront's public pages against `make dev`'s stack, written to docs/lighthouse.md. Scores move
// from run to run, so they are a report; layout shift and accessibility are asserted by the browser
// journeys instead (shop.test.mjs).

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { root, startStack } from './stack.mjs';

const modules = path.join(root, '.cache/node/node_modules');
const { default: lighthouse } = await import(pathToFileURL(path.join(modules, 'lighthouse/core/index.js')));
const chromeLauncher = await import(pathToFileURL(path.join(modules, 'chrome-launcher/dist/index.js')));

const stack = await startStack();
let chrome;
try {
  const products = await (await fetch(`${stack.api}/products?limit=3`)).json();
  const pages = [
    ['home', '#/'],
    ['category', '#/?category=coffee'],
    ['search results', '#/?q=tea'],
    ['product', `#/product/${products.items[0].id}`],
    ['cart', '#/cart'],
    ['sign-in', '#/login'],
    ['register', '#/register'],
  ];
  chrome = await chromeLauncher.launch({
    chromePath: '/usr/bin/chromium',
    chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  const rows = [];
  for (const [name, hash] of pages) {
    const { lhr } = await lighthouse(stack.site + hash, { port: chrome.port, output: 'json', logLevel: 'error' });
    const score = (c) => lhr.categories[c].score.toFixed(2);
    const audit = (a) => lhr.audits[a].displayValue.replace(/\s/g, ' ');
    rows.push(`| ${name} | ${score('performance')} | ${score('accessibility')} | ${score('best-practices')} | ${score('seo')} | ${audit('cumulative-layout-shift')} | ${audit('largest-contentful-paint')} | ${audit('total-blocking-time')} |`);
    console.log(rows.at(-1));
  }
  writeFileSync(path.join(root, 'docs/lighthouse.md'), `# Lighthouse report

Lighthouse ${lighthouse.version ?? '12.2.3'}, mobile preset (simulated slow 4G and 4x CPU slowdown), Debian chromium, against
\`make dev\` (the storefront from s3rver, the functions under \`cargo lambda watch\`, debug builds). Written by
\`make lighthouse\` on ${new Date().toISOString().slice(0, 10)}; scores vary from run to run. Signed-in pages are not
reached by Lighthouse's fresh loads: the browser journeys assert layout shift (<= 0.02) and accessibility
(axe-core, 0 violations) on every page, signed in or not.

| page | performance | accessibility | best practices | SEO | CLS | LCP | TBT |
|---|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}
`);
} finally {
  await chrome?.kill();
  await stack.stop();
}
