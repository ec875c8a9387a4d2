// The CDN's viewer-request function (scripts/cdn/site-paths.js, deployed by both IaCs and run by
// the local front): which object of the site bucket each storefront address is.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const handler = vm.runInNewContext(`${readFileSync(path.join(root, 'scripts/cdn/site-paths.js'), 'utf8')}\nhandler`);
const mapped = (uri) => handler({ request: { uri, method: 'GET', querystring: {}, headers: {} } }).uri;

test('public pages map to the prerendered objects, the app pages to the shell, files to themselves', () => {
  assert.equal(mapped('/'), '/pages/index.html');
  assert.equal(mapped('/products/earl-grey'), '/pages/products/earl-grey.html');
  assert.equal(mapped('/products/earl-grey/'), '/pages/products/earl-grey.html');
  assert.equal(mapped('/category/green-tea'), '/pages/category/green-tea.html');
  for (const app of ['/search', '/cart', '/orders/01JB/receipt', '/admin/products', '/products/Not_A_Slug']) {
    assert.equal(mapped(app), '/index.html', app);
  }
  for (const file of ['/js/main.0a1b2c3d4e.js', '/styles.0a1b2c3d4e.css', '/sitemap.xml', '/robots.txt', '/config.json']) {
    assert.equal(mapped(file), file);
  }
});
