// The storefront's modules lean one way: api, ui and cart are leaves; router imports no page; pages
// import the router, never each other or the entry point; no module imports another in a circle.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../static-site/js');
const imports = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => [
  f,
  [...readFileSync(path.join(dir, f), 'utf8').matchAll(/^import .* from '\.\/([\w-]+\.js)';$/gm)].map((m) => m[1]),
]));

test('leaves import no module but the API client', () => {
  assert.deepEqual(imports['api.js'], []);
  assert.deepEqual(imports['ui.js'], []);
  assert.deepEqual(imports['cart.js'], ['api.js']);
});

test('the router imports no page, and pages import neither each other nor the entry point', () => {
  const pages = ['shop.js', 'checkout.js', 'admin.js'];
  assert.ok(pages.every((p) => imports[p].includes('router.js')), JSON.stringify(imports));
  for (const f of ['router.js', ...pages]) {
    for (const other of [...pages, 'main.js']) {
      if (other !== f) assert.ok(!imports[f].includes(other), `${f} imports ${other}`);
    }
  }
  assert.ok(pages.every((p) => imports['main.js'].includes(p)), JSON.stringify(imports['main.js']));
});

test('no module imports another in a circle', () => {
  const visit = (f, trail) => {
    assert.ok(!trail.includes(f), `import circle: ${[...trail, f].join(' -> ')}`);
    for (const dep of imports[f] || []) visit(dep, [...trail, f]);
  };
  for (const f of Object.keys(imports)) visit(f, []);
});
