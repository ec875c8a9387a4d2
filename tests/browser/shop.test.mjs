// Browser journeys against the whole local stack, started with the README's own `make dev` script on
// free ports: Debian chromium driven by playwright-core (never a downloaded browser).
// Screenshots of the key pages go to tests/artifacts/ (git-ignored).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { lighthouseRuns, publicPages, root, startStack, unusedCode } from './stack.mjs';

const require = createRequire(path.join(root, '.cache/node/package.json'));
const { chromium } = require('playwright-core');
const shots = path.join(root, 'tests/artifacts');
mkdirSync(shots, { recursive: true });

let stack, browser, site, api, stripe, moto, s3;

before(async () => {
  stack = await startStack();
  ({ site, api, stripe, moto, s3 } = stack);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    // The pages reach the browser through the tests' routing (which adds the CSP), and Chrome counts a
    // routed document as public, refusing its requests to the API on loopback (Local Network Access).
    // On AWS both are public hosts; here the check is switched off rather than the policy.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights'],
  });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

// The journeys below are independent of each other (each has its own shopper, products and
// settings it leaves as found), so they run two at a time, after the plain tests, which need a
// catalog nobody adds to meanwhile. Much of a journey is waiting on the stack (the streams, the
// webhooks, the emails), which the other journey's steps fill.
const journeys = [];
function journey(name, fn) {
  journeys.push([name, fn]);
}

// The longest first: Lighthouse runs its own browser beside the journeys.
journey('the public pages pass every Lighthouse accessibility, best-practice and SEO audit', async () => {
  const runs = await lighthouseRuns(await publicPages({ site, api }), ['accessibility', 'best-practices', 'seo']);
  const failed = runs.flatMap(([name, lhr]) => Object.values(lhr.categories).flatMap((c) => c.auditRefs
    .filter((r) => r.weight > 0 && lhr.audits[r.id].score !== null && lhr.audits[r.id].score < 1)
    .map((r) => `${name}: ${c.title}: ${lhr.audits[r.id].title}`)));
  assert.deepEqual(failed, []);
});

/** The storefront's Content-Security-Policy (static-site/csp.json, what CloudFront sends on AWS),
 *  with the local API and s3rver in place of the AWS hosts. s3rver cannot set headers, so the tests
 *  add it to every response of the site. */
function localCsp() {
  const csp = JSON.parse(readFileSync(path.join(root, 'static-site/csp.json'), 'utf8'));
  const fill = { '{api}': api, '{uploads}': s3, '{stripe_js}': stripe, '{stripe_api}': stripe };
  return Object.entries(csp.directives).map(([name, values]) => [name, ...new Set(values.map((v) => fill[v] || v))].join(' ')).join('; ');
}

async function newPage(viewport = { width: 1280, height: 900 }) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => d.accept());
  // Every CSP violation fails the test that caused it (each test asserts `page.errors` is empty).
  page.on('console', (m) => { if (m.text().startsWith('CSP violation')) errors.push(m.text()); });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
    // Cumulative layout shift as Chrome reports it (shifts right after input do not count).
    window.layoutShift = 0;
    window.shifted = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.hadRecentInput) continue;
        window.layoutShift += e.value;
        // What moved, for the message of a test that fails on it.
        window.shifted.push(...e.sources.map((x) => `${x.node?.nodeName?.toLowerCase()}.${x.node?.className} by ${e.value.toFixed(3)}`));
      }
    }).observe({ type: 'layout-shift', buffered: true });
  });
  const policy = localCsp();
  // The policy rides on documents; pictures and scripts of the same origin pass untouched (a
  // page closed mid-load then leaves no routed request behind).
  await page.route(`${site}**`, async (route) => {
    if (route.request().resourceType() !== 'document') return route.continue().catch(() => {});
    // Sent again once when the kept-alive connection it went out on was closed by the server
    // meanwhile (ECONNRESET), as a browser resends a GET; a second failure fails the navigation.
    const response = await route.fetch().catch(() => route.fetch()).catch(() => null);
    if (!response) return route.abort().catch(() => {});
    await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': policy } }).catch(() => {});
  });
  page.errors = errors;
  return page;
}

/** Waits until the script has taken over the prerendered page shown: its HTML is there from the
 *  start, but its buttons work only from then on (the heading alone does not say so). */
async function taken(page) {
  await page.locator('main[data-live]').waitFor({ state: 'attached' });
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** What a fresh load of `url` looks like once it has settled: its cumulative layout shift and
 *  axe-core's accessibility violations (WCAG 2.1 A and AA, and axe's best practices). */
async function inspect(page, url) {
  await page.goto('about:blank');
  await page.goto(url);
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(300);
  const [cls, shifted] = await page.evaluate(() => [window.layoutShift, window.shifted]);
  return { cls, shifted, violations: await accessibilityViolations(page) };
}

/** axe-core's findings on the page as it is now (WCAG 2.1 A and AA, and axe's best practices). */
async function accessibilityViolations(page) {
  // The page as it settles, not halfway through a fade: a toast fading in or out is half
  // transparent for 0.2 s, and axe measures its contrast against what shows through it.
  await page.waitForFunction(() => document.getAnimations().every((a) => !(a instanceof CSSTransition) || a.playState !== 'running'));
  // Evaluated through the DevTools protocol: the page's CSP does not apply to the test's own script.
  await page.evaluate(axeSource);
  const { violations } = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  return violations.map((v) => `${v.id} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

async function call(method, url, { token, body, headers = {} } = {}) {
  const res = await fetch(api + url, {
    method,
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }), ...headers },
    body: body && JSON.stringify(body),
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

/** Addresses the journeys ship to: Oregon has no sales tax, California taxes the mug only. */
const OREGON = { name: 'Grace Hopper', line1: '1 Pioneer Sq', city: 'Portland', region: 'OR', postal_code: '97204', country: 'US' };
const CALIFORNIA = { name: 'Ada Lovelace', line1: '1 Market St', city: 'San Francisco', region: 'CA', postal_code: '94105', country: 'US' };
const TOKYO = { line1: '1-1 Chiyoda', city: 'Tokyo', postal_code: '100-0001', country: 'JP' };
const UPS = '1Z999AA10123456784';

/** Fills the checkout's address step and asks for the shipping methods. */
async function shipTo(page, a) {
  await page.getByLabel('Full name').fill(a.name);
  await page.getByLabel('Address', { exact: true }).fill(a.line1);
  await page.getByLabel('City').fill(a.city);
  await page.getByLabel('State, province or region').fill(a.region || '');
  await page.getByLabel('Postal code').fill(a.postal_code);
  await page.getByLabel('Country').selectOption(a.country);
  await page.getByRole('button', { name: 'Continue to shipping' }).click();
}

/** The review's figure rows (`subtotal`, `shipping`, `tax`, `total`) as text. */
async function figure(page, name) {
  return (await page.locator(`#quote [data-figure="${name}"]`).allInnerTexts()).join(' | ');
}

/** The seeded admin's sign-in through the API: the password, then a code from its authenticator.
 *  One sign-in serves every test that only needs the admin's token (a code is accepted once, and
 *  two fit in 30 seconds). */
let adminSession;
function adminLogin() {
  adminSession ??= signInAdmin();
  return adminSession;
}

async function signInAdmin() {
  const first = await call('POST', '/users/login', { body: { email: 'admin@shop.local', password: 'admin-password' } });
  assert.equal(first.body.mfa_required, true, JSON.stringify(first.body));
  const login = await call('POST', '/users/login/mfa', { body: { mfa_token: first.body.mfa_token, code: await unusedCode(stack.adminTotp) } });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  return login;
}

/** The password step of a sign-in in `page`, from the sign-in page. */
async function passwordStep(page, email, password, { open = true } = {}) {
  if (open) await page.goto(`${site}#/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The seeded admin's sign-in in `page`, on the sign-in page: the password, then the code step. */
async function adminSignsIn(page) {
  await passwordStep(page, 'admin@shop.local', 'admin-password', { open: false });
  await page.getByLabel('Code').fill(await unusedCode(stack.adminTotp));
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** Signs `page` in as the account of a login answer, as the storefront keeps a session. */
async function signInAs(page, login) {
  await page.goto(site);
  await page.evaluate(([t, u, r]) => { sessionStorage.setItem('token', t); sessionStorage.setItem('user', JSON.stringify(u)); sessionStorage.setItem('refresh', r); }, [login.body.token, login.body.user, login.body.refresh_token]);
}

/** A new shopper whose email is confirmed (paying by card needs it), signed in through the API. */
async function confirmedShopper(page, name, password) {
  const email = `${name.toLowerCase()}+${Date.now()}@example.com`;
  assert.equal((await call('POST', '/users/register', { body: { email, password, name } })).status, 201);
  const [welcome] = await mailFor(email, 'confirm your email address');
  assert.ok(welcome, 'the welcome email with the verification link arrived');
  await page.goto(welcome.body.match(/href="([^"]*#\/verify\?token=[^"]+)"/)[1]);
  await page.locator('#verified').waitFor();
  return { email, login: await call('POST', '/users/login', { body: { email, password } }) };
}

journey('a shopper registers, searches, fills the cart, checks out and cancels', async () => {
  const page = await newPage();
  await page.goto(site);
  await page.getByRole('heading', { name: 'Fresh from the roastery' }).waitFor();
  assert.ok(await page.locator('article.card').count() >= 12, 'the seeded catalog is shown');
  // Every sample product shown has its drawn picture (no letter tile), resized to WebP widths the
  // browser picks from, loaded at the box's 4:3.
  const seeded = new Set(JSON.parse(readFileSync(path.join(root, 'scripts/seed-catalog.json'), 'utf8')).map((p) => p.name));
  const cards = await page.locator('article.card').evaluateAll((all) => all.map((c) => [c.querySelector('h2').textContent, c.querySelector('.thumb').tagName]));
  const sample = cards.filter(([name]) => seeded.has(name));
  assert.ok(sample.length >= 6, JSON.stringify(cards));
  assert.deepEqual(sample.filter(([, tag]) => tag !== 'IMG'), [], 'no letter tile');
  const picture = page.locator('article.card', { hasText: sample[0][0] }).locator('img.thumb');
  await picture.evaluate((img) => img.decode());
  const [natural, current, srcset] = await picture.evaluate((img) => [img.naturalWidth / img.naturalHeight, img.currentSrc, img.srcset]);
  assert.ok(Math.abs(natural - 4 / 3) < 0.01, `a 4:3 picture (${natural})`);
  assert.match(current, /\/products\/[0-9A-Z]{26}\/[0-9A-Z]{26}\/(320|640)\.webp$/);
  assert.match(srcset, /320\.webp 320w, .*640\.webp 640w/);
  const box = await picture.boundingBox();
  assert.ok(Math.abs(box.width / box.height - 4 / 3) < 0.02, `shown at ${box.width} x ${box.height}`);
  await page.screenshot({ path: path.join(shots, 'catalog.png') });

  // Register (the cart link and sign-in are in the header).
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.getByLabel('Name').fill('Grace Hopper');
  await page.getByLabel('Email').fill(`grace+${Date.now()}@example.com`);
  await page.getByLabel(/^Password/).fill('cobol-forever-1959');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.locator('#nav-account', { hasText: 'Hi, Grace' }).waitFor();
  await page.getByRole('heading', { name: 'Fresh from the roastery' }).waitFor();

  // Search by name prefix and add two products.
  await page.getByLabel('Search products').fill('ear');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('heading', { name: 'Results for “ear”' }).waitFor();
  await page.getByRole('button', { name: 'Add Earl Grey Supreme to cart' }).click();
  await page.locator('#cart-count', { hasText: '1' }).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Shop', exact: true }).click();
  await page.getByRole('heading', { name: 'Fresh from the roastery' }).waitFor();
  // The home page is prerendered: its categories are pages of their own.
  await page.getByRole('link', { name: 'Coffee', exact: true }).click();
  await page.waitForURL(`${site}category/coffee`);
  await page.getByRole('heading', { name: 'Coffee' }).waitFor();
  await page.getByRole('link', { name: 'Kenya Nyeri AA' }).click();
  await page.getByRole('heading', { name: 'Kenya Nyeri AA' }).waitFor();
  await taken(page);
  await page.screenshot({ path: path.join(shots, 'product.png') });
  await page.getByLabel('Quantity').fill('2');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.locator('#cart-count', { hasText: '3' }).waitFor();

  // The cart shows both lines and the subtotal from the catalog: 9.90 + 2 x 18.90 = 47.70.
  await page.getByRole('link', { name: /Cart/ }).click();
  await page.locator('tr[data-line]').nth(1).waitFor();
  assert.equal(await page.locator('tr[data-line]').count(), 2);
  assert.match(await page.locator('#cart-total').innerText(), /47\.70/);
  await page.screenshot({ path: path.join(shots, 'cart.png') });

  // Checkout: the address, then standard shipping to Oregon (no sales tax there): 47.70 + 5.90.
  await page.getByRole('link', { name: 'Check out' }).click();
  await page.getByRole('heading', { name: 'Checkout' }).waitFor();
  assert.equal(await page.getByLabel('Full name').inputValue(), 'Grace Hopper', 'prefilled from the profile');
  await shipTo(page, OREGON);
  await page.locator('#shipping-methods').waitFor();
  assert.match(await figure(page, 'shipping'), /Standard.*\$5\.90/);
  assert.match(await figure(page, 'total'), /\$53\.60/);
  await page.screenshot({ path: path.join(shots, 'checkout.png') });
  await page.getByRole('button', { name: 'Place order · $53.60' }).click();
  await page.getByRole('heading', { name: /^Order / }).waitFor();
  await page.locator('.status.PENDING').waitFor();
  assert.match(await page.locator('article.order').innerText(), /Total \$53\.60/);
  assert.match(await page.locator('address.ship-to').first().innerText(), /Portland OR 97204/);
  assert.equal(await page.locator('#cart-count').innerText(), '0');
  await page.screenshot({ path: path.join(shots, 'order.png') });
  await page.getByRole('link', { name: 'Orders', exact: true }).click();
  await page.locator('article.order').first().waitFor();
  await page.getByRole('button', { name: 'Cancel order' }).click();
  await page.locator('.status.CANCELLED').waitFor();
  await page.screenshot({ path: path.join(shots, 'orders.png') });

  // Signing out calls the API; the orders page then asks to sign in again.
  await page.locator('#nav-account').click();
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('link', { name: 'Sign in' }).waitFor();
  await page.goto(`${site}#/orders`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.deepEqual(page.errors, []);
});

/** Types a card into the card field of the pay panel (localstripe's Elements: plain inputs). */
async function fillCard(page, number) {
  const field = page.locator('#card-field');
  await field.locator('input[placeholder="number"]').fill(number);
  await field.locator('input[placeholder="exp_month"]').fill('12');
  await field.locator('input[placeholder="exp_year"]').fill('35');
  await field.locator('input[placeholder="cvc"]').fill('123');
  await field.locator('input[placeholder="postal_code"]').fill('10001');
}

journey('a shopper pays by card: a declined card says so, another card pays, and 3-D Secure is completed', async () => {
  const page = await newPage();
  const email = `ada+${Date.now()}@example.com`;
  assert.equal((await call('POST', '/users/register', { body: { email, password: 'analytical-engine', name: 'Ada' } })).status, 201);
  // Paying by card needs a confirmed address: the link in the welcome email.
  const [welcome] = await mailFor(email, 'confirm your email address');
  assert.ok(welcome, 'the welcome email with the verification link arrived');
  await page.goto(welcome.body.match(/href="([^"]*#\/verify\?token=[^"]+)"/)[1]);
  await page.locator('#verified').waitFor();
  const login = await call('POST', '/users/login', { body: { email, password: 'analytical-engine' } });
  const token = login.body.token;
  const products = await call('GET', '/products?limit=50');
  const product = products.body.items.find((p) => p.stock > 5);
  const place = async (key) => {
    const r = await call('POST', '/orders', { token, headers: { 'idempotency-key': key }, body: { items: [{ product_id: product.id, quantity: 1 }], shipping_address: OREGON } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id;
  };
  await page.goto(site);
  await page.evaluate(([t, u]) => { sessionStorage.setItem('token', t); sessionStorage.setItem('user', JSON.stringify(u)); }, [token, login.body.user]);

  const first = await place(`pay-${Date.now()}`);
  await page.goto(`${site}#/orders/${first}`);
  await page.getByRole('heading', { name: 'Pay by card' }).waitFor();
  await page.locator('#pay-time-left', { hasText: /reserved for \d+ min/ }).waitFor();
  await page.locator('[data-payment="unpaid"]', { hasText: 'Awaiting payment' }).waitFor();
  await page.screenshot({ path: path.join(shots, 'pay.png') });
  await fillCard(page, '4000000000000341');
  await page.getByRole('button', { name: 'Pay now' }).click();
  await page.locator('#pay-message', { hasText: 'Your card was declined. Try another card.' }).waitFor();
  await fillCard(page, '4242424242424242');
  await page.getByRole('button', { name: 'Pay now' }).click();
  // The webhook marks it paid; the page shows it without a reload.
  await page.locator('[data-payment="paid"]', { hasText: 'Payment received' }).waitFor({ timeout: 30_000 });
  await page.locator('.status.PAID').waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Pay by card' }).count(), 0, 'a paid order offers no card field');
  await page.screenshot({ path: path.join(shots, 'paid.png') });

  const second = await place(`3ds-${Date.now()}`);
  await page.goto(`${site}#/orders/${second}`);
  await page.getByRole('heading', { name: 'Pay by card' }).waitFor();
  await fillCard(page, '4000002500003155');
  await page.getByRole('button', { name: 'Pay now' }).click();
  await page.getByRole('button', { name: 'Complete authentication' }).click();
  await page.locator('[data-payment="paid"]').waitFor({ timeout: 30_000 });
  assert.deepEqual(page.errors, []);
});

journey('a shopper in California sees tax on the mug only, pays, and follows the parcel the admin ships by UPS', async () => {
  const page = await newPage();
  const { email, login } = await confirmedShopper(page, 'Mary', 'difference-engine-1843');
  const token = login.body.token;
  // A profile address in Japan, where the shop does not ship.
  assert.equal((await call('PUT', '/users/me', { token, body: { address: TOKYO } })).status, 200);
  await signInAs(page, login);
  const all = (await call('GET', '/products?limit=100')).body.items;
  const byName = (n) => all.find((p) => p.name === n);
  for (const [name, qty] of [['Stoneware Mug', 1], ['Ethiopia Yirgacheffe', 1]]) {
    await page.goto(`${site}#/product/${byName(name).id}`);
    await page.getByLabel('Quantity').fill(String(qty));
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.getByText(`${name} added to your cart`).waitFor();
  }
  await page.goto(`${site}#/cart`);
  await page.getByRole('link', { name: 'Check out' }).click();
  await page.getByRole('heading', { name: 'Checkout' }).waitFor();
  assert.equal(await page.getByLabel('Country').inputValue(), 'JP', 'prefilled from the profile');
  await page.getByLabel('Full name').fill('Mary Somerville');
  await page.getByRole('button', { name: 'Continue to shipping' }).click();
  await page.locator('#checkout-message', { hasText: 'does not ship to Japan yet' }).waitFor();

  // To California: 7.25% on the mug (14.90 -> 1.08), none on the coffee, standard shipping 5.90.
  await page.getByLabel('Save this address to my profile').check();
  await shipTo(page, CALIFORNIA);
  await page.locator('#shipping-methods').waitFor();
  assert.match(await page.locator('#shipping-methods').innerText(), /Express.*\$14\.90/s);
  assert.match(await figure(page, 'subtotal'), /\$31\.40/);
  assert.match(await figure(page, 'shipping'), /Standard.*\$5\.90/);
  assert.equal(await page.locator('#quote [data-figure="tax"]').count(), 1, 'one tax line: the coffee is not taxed');
  assert.match(await figure(page, 'tax'), /California sales tax \(7\.25%\).*\$1\.08/s);
  assert.match(await figure(page, 'total'), /\$38\.38/);
  await page.screenshot({ path: path.join(shots, 'checkout-california.png') });
  await page.getByRole('button', { name: 'Place order · $38.38' }).click();
  await page.getByRole('heading', { name: /^Order / }).waitFor();
  const orderId = page.url().split('/').pop();
  await fillCard(page, '4242424242424242');
  await page.getByRole('button', { name: 'Pay now' }).click();
  await page.locator('[data-payment="paid"]').waitFor({ timeout: 30_000 });
  const paid = (await call('GET', `/orders/${orderId}`, { token })).body;
  assert.equal(paid.total_cents, 3838, 'the card paid what the review showed');

  // The receipt names the seller and every figure.
  await page.getByRole('link', { name: 'Printable receipt' }).click();
  const receipt = page.locator('#receipt');
  await receipt.waitFor();
  assert.match(await receipt.innerText(), /Bean & Leaf Trading LLC[\s\S]*EIN 12-3456789/);
  assert.match(await receipt.innerText(), /San Francisco CA 94105[\s\S]*California sales tax[\s\S]*\$38\.38/);

  // The admin ships it from the queue with a UPS tracking number (signed in once for every test
  // that needs no sign-in of its own: each sign-in spends a code, and two fit in 30 seconds).
  const admin = await newPage();
  await signInAs(admin, await adminLogin());
  await admin.goto(`${site}#/admin/orders?status=PAID`);
  const card = admin.locator(`article[data-order="${orderId}"]`);
  await card.waitFor();
  assert.match(await card.innerText(), /San Francisco CA 94105[\s\S]*Standard/);
  await card.getByRole('link', { name: 'Packing slip' }).click();
  await admin.locator('#packing-slip').waitFor();
  assert.match(await admin.locator('#packing-slip').innerText(), /Ada Lovelace[\s\S]*Stoneware Mug/);
  assert.doesNotMatch(await admin.locator('#packing-slip').innerText(), /\$/, 'a packing slip shows no prices');
  await admin.goBack();
  await card.getByLabel('Carrier').selectOption('ups');
  await card.getByLabel('Tracking number').fill(UPS);
  await card.getByRole('button', { name: 'Mark shipped' }).click();
  await card.waitFor({ state: 'detached' });
  await admin.close();

  // The shipped email links the parcel, and so does the order page.
  const [shipped] = await mailFor(email, 'shipped');
  assert.ok(shipped, 'the shipped email arrived');
  assert.ok(shipped.body.includes(`href="https://www.ups.com/track?tracknum=${UPS}"`), shipped.body);
  await page.goto(`${site}#/orders/${orderId}`);
  await page.locator('.status.SHIPPED').waitFor();
  assert.equal(await page.locator(`a[data-tracking="${UPS}"]`).getAttribute('href'), `https://www.ups.com/track?tracknum=${UPS}`);

  // Over 60.00 standard shipping is free; the saved address comes prefilled.
  await page.goto(`${site}#/product/${byName('Ethiopia Yirgacheffe').id}`);
  await page.getByLabel('Quantity').fill('4');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByText('Ethiopia Yirgacheffe added to your cart').waitFor();
  await page.goto(`${site}#/checkout`);
  await page.getByRole('heading', { name: 'Checkout' }).waitFor();
  assert.equal(await page.getByLabel('City').inputValue(), 'San Francisco', 'the address was saved to the profile');
  await page.getByLabel('Full name').fill('Mary Somerville');
  await page.getByRole('button', { name: 'Continue to shipping' }).click();
  await page.locator('#shipping-methods').waitFor();
  assert.match(await figure(page, 'subtotal'), /\$66\.00/);
  assert.match(await figure(page, 'shipping'), /Standard.*\$0\.00/);
  assert.deepEqual(page.errors, []);
});

journey('a shopper stays signed in past the access token, and signs out everywhere', async () => {
  const page = await newPage();
  const email = `lin+${Date.now()}@example.com`;
  assert.equal((await call('POST', '/users/register', { body: { email, password: 'a-long-river-song', name: 'Lin' } })).status, 201);
  await page.goto(`${site}#/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a-long-river-song');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#nav-account', { hasText: 'Hi, Lin' }).waitFor();
  const before = await page.evaluate(() => sessionStorage.getItem('refresh'));
  assert.ok(before, 'the refresh token is kept for the tab');
  // The access token is no longer accepted (as after its 15 minutes): the page renews it silently.
  await page.evaluate(() => sessionStorage.setItem('token', 'expired.access.token'));
  await page.goto(`${site}#/account`);
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
  const rotated = await page.evaluate(() => sessionStorage.getItem('refresh'));
  assert.notEqual(rotated, before, 'rotated on use');
  // A token about to expire is renewed before it is sent: one request to the API, not a 401 first.
  const soon = Math.floor(Date.now() / 1000) + 30;
  await page.evaluate((exp) => {
    const b64 = (o) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    sessionStorage.setItem('token', `${b64({ alg: 'HS256' })}.${b64({ exp })}.unsigned`);
  }, soon);
  const meCalls = [];
  page.on('request', (r) => { if (r.url().endsWith('/users/me')) meCalls.push(r.method()); });
  // Through the app's own links: the page is not loaded again, only drawn.
  const loads = [];
  page.on('load', () => loads.push(page.url()));
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Orders' }).click();
  await page.getByRole('heading', { name: 'Your orders' }).waitFor();
  assert.equal(page.url(), `${site}orders`);
  await page.locator('#nav-account').click();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
  assert.equal(page.url(), `${site}account`);
  assert.deepEqual(loads, [], 'moved without reloading');
  assert.deepEqual(meCalls.filter((m) => m === 'GET'), ['GET'], 'renewed ahead, so the first call succeeded');
  // Back goes back, through the history.
  await page.goBack();
  await page.getByRole('heading', { name: 'Your orders' }).waitFor();
  await page.goForward();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
  const after = await page.evaluate(() => sessionStorage.getItem('refresh'));
  assert.notEqual(after, rotated, 'renewed ahead of expiry');
  // Sign out everywhere: this tab's session ends, and so does any other.
  const other = await call('POST', '/users/login', { body: { email, password: 'a-long-river-song' } });
  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await page.getByRole('link', { name: 'Sign in' }).waitFor();
  assert.equal((await call('GET', '/users/me', { token: other.body.token })).status, 401);
  assert.equal((await call('POST', '/users/refresh', { body: { refresh_token: after } })).status, 401);
  assert.deepEqual(page.errors, []);
});

/** The emails the local SES (moto) accepted for `to` whose subject contains `subject`, waiting for one. */
async function mailFor(to, subject, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const data = await (await fetch(`${moto}/moto-api/data.json`)).json();
    const found = (data.ses?.Message || []).filter((m) => m.destinations?.ToAddresses?.includes(to) && m.subject.includes(subject));
    if (found.length || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 250));
  }
}

journey('a shopper who forgot the password gets a link by email and signs in with the new one', async () => {
  const page = await newPage();
  const email = `ola+${Date.now()}@example.com`;
  assert.equal((await call('POST', '/users/register', { body: { email, password: 'first-river-song', name: 'Ola' } })).status, 201);
  await page.goto(`${site}#/login`);
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Email me a link' }).click();
  await page.locator('#forgot-sent').waitFor();

  // The email (through the tables' stream, the bus and send-email) links to the storefront.
  const [mail] = await mailFor(email, 'choose a new password');
  assert.ok(mail, 'the reset email arrived');
  const link = mail.body.match(/href="([^"]*#\/reset\?token=[^"]+)"/)[1];
  assert.ok(link.startsWith(site), `${link} is on the storefront`);
  await page.goto(link);
  await page.getByLabel(/^New password/).fill('second-river-song');
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByText('Your password is set. Sign in with it.').waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('second-river-song');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#nav-account', { hasText: 'Hi, Ola' }).waitFor();
  // The link worked once.
  const token = new URL(link.replace('#/reset', '')).searchParams.get('token');
  assert.equal((await call('POST', '/users/password-reset/confirm', { body: { token, password: 'third-river-song' } })).status, 400);
  assert.deepEqual(page.errors, []);
});

journey('only N left: a checkout that asks for more than the stock says so', async () => {
  const admin = (await adminLogin()).body.token;
  const p = (await call('POST', '/products', { token: admin, body: { name: 'Last Bag Standing', price_cents: 2200, category: 'coffee', stock: 2 } })).body;
  const page = await newPage();
  await page.goto(`${site}#/product/${p.id}`);
  await page.getByRole('heading', { name: 'Last Bag Standing' }).waitFor();
  assert.match(await page.locator('.stock').innerText(), /Only 2 left/);
  await page.getByLabel('Quantity').fill('2');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.locator('#cart-count', { hasText: '2' }).waitFor();
  // Someone else buys one meanwhile.
  await call('PUT', `/products/${p.id}`, { token: admin, body: { stock: 1 } });
  await page.getByRole('link', { name: /Cart/ }).click();
  await page.getByRole('link', { name: 'Sign in to check out' }).click();
  await adminSignsIn(page);
  // Signing in leads on to the checkout.
  await page.getByRole('heading', { name: 'Checkout' }).waitFor();
  await shipTo(page, OREGON);
  await page.getByRole('button', { name: /^Place order/ }).click();
  await page.locator('#checkout-message', { hasText: 'only 1 left' }).waitFor();
  await page.screenshot({ path: path.join(shots, 'only-n-left.png') });
});

journey('an admin creates a product with an image, sees it in the catalog and ships an order', async () => {
  const page = await newPage();
  // A slow cart merge at sign-in: the admin moves on before it ends and must stay where they went.
  let merged;
  const mergeDone = new Promise((resolve) => { merged = resolve; });
  await page.route(`${api}/cart`, async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await route.continue();
    merged();
  });
  await page.goto(`${site}#/login`);
  await adminSignsIn(page);
  await page.getByRole('link', { name: 'Admin', exact: true }).click();
  await page.getByRole('heading', { name: 'Manage the shop' }).waitFor();
  await mergeDone;
  await page.waitForTimeout(300);
  assert.match(page.url(), /\/admin\/products$/, 'the end of sign-in pulled the admin away from the page they opened');
  await page.unroute(`${api}/cart`);
  await page.screenshot({ path: path.join(shots, 'admin-products.png') });

  const name = `Siphon Brewer ${Date.now() % 100000}`;
  await page.getByRole('link', { name: 'New product' }).click();
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Description').fill('Vacuum brewing, theatre included.');
  await page.getByLabel(/^Price/).fill('64.50');
  await page.getByLabel('Stock').fill('7');
  await page.getByLabel('Category').fill('equipment');
  const png = path.join(shots, 'siphon.png');
  writeFileSync(png, Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAABytg0kAAAAFElEQVR4nGM4EaDxXyPgxH8GGAMATXQI/S28mRgAAAAASUVORK5CYII=', 'base64'));
  await page.getByLabel(/^Image/).setInputFiles(png);
  await page.getByRole('button', { name: 'Create product' }).click();
  await page.getByRole('heading', { name: `Edit ${name}` }).waitFor({ timeout: 45_000 });
  const img = page.locator(`img[alt="${name}"]`);
  await img.waitFor();
  // Resized by resize-image from the upload: a 2 x 2 picture is served at its own width, as WebP.
  const src = await img.getAttribute('src');
  // Served from the storefront's own origin, as the CDN serves pictures.
  assert.match(src, new RegExp(`^${site}products/[0-9A-Z]{26}/[0-9A-Z]{26}/2\\.webp$`));
  assert.equal(await img.getAttribute('srcset'), `${src} 2w`);
  const served = await fetch(src);
  assert.equal(served.status, 200, 'the picture is served');
  assert.equal(Buffer.from(await served.arrayBuffer()).subarray(8, 12).toString(), 'WEBP');
  await page.screenshot({ path: path.join(shots, 'admin-product.png') });

  // It shows up in the public catalog search.
  await page.getByLabel('Search products').fill('siphon');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name }).first().waitFor();
  assert.match(await page.locator('article.card').first().innerText(), /\$64\.50/);

  // A customer orders it; the admin moves the order to SHIPPED.
  const email = `buyer+${Date.now()}@example.com`;
  await call('POST', '/users/register', { body: { email, password: 'shopper-passphrase-42', name: 'Buyer' } });
  const token = (await call('POST', '/users/login', { body: { email, password: 'shopper-passphrase-42' } })).body.token;
  const id = (await call('GET', `/products?q=${encodeURIComponent(name.toLowerCase())}`)).body.items[0].id;
  const order = await call('POST', '/orders', { token, body: { items: [{ product_id: id, quantity: 2 }], shipping_address: OREGON }, headers: { 'idempotency-key': `browser-${Date.now()}` } });
  assert.equal(order.status, 201);

  await page.getByRole('link', { name: 'Admin', exact: true }).click();
  await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Orders' }).click();
  const card = page.locator(`article[data-order="${order.body.id}"]`);
  await card.waitFor();
  // Each move re-renders the list it was made from; wait for the order to leave it.
  await card.getByRole('button', { name: 'Mark paid' }).click();
  await card.waitFor({ state: 'detached' });
  await page.getByRole('tab', { name: 'To ship' }).click();
  await card.getByLabel('Carrier').selectOption('other');
  await card.getByLabel('Tracking number').fill('LOCAL42');
  await card.getByLabel('Tracking page (https)').fill('https://track.example.com/LOCAL42');
  await card.getByRole('button', { name: 'Mark shipped' }).click();
  await card.waitFor({ state: 'detached' });
  await page.getByRole('tab', { name: 'Shipped' }).click();
  await card.locator('.status.SHIPPED').waitFor();
  await page.screenshot({ path: path.join(shots, 'admin-orders.png') });
  assert.equal(await card.locator('a[data-tracking="LOCAL42"]').getAttribute('href'), 'https://track.example.com/LOCAL42');
  const final = await call('GET', `/orders/${order.body.id}`, { token });
  assert.equal(final.body.status, 'SHIPPED');
  assert.equal(final.body.shipment.carrier, 'other');
  assert.deepEqual(page.errors, []);
});

test('the catalog pages with Load more, and a page that fails can be tried again', async () => {
  const page = await newPage();
  await page.goto(`${site}search`);
  await page.getByRole('heading', { name: 'Fresh from the roastery' }).waitFor();
  assert.equal(await page.locator('article.card').count(), 12);
  // The next page fails once: the button comes back and the banner offers to try again.
  let failures = 1;
  await page.route((url) => url.pathname === '/products' && url.searchParams.has('cursor'), (route) => {
    if (failures-- <= 0) return route.continue();
    return route.fulfill({
      status: 503,
      contentType: 'application/json',
      headers: { 'access-control-allow-origin': '*' },
      body: JSON.stringify({ error: { code: 'service_unavailable', message: 'storage is unavailable' } }),
    });
  });
  await page.getByRole('button', { name: 'Load more' }).click();
  await page.getByRole('button', { name: 'Try again' }).click();
  await page.locator('article.card').nth(23).waitFor();
  const names = await page.locator('article.card h2').allInnerTexts();
  assert.equal(names.length, await page.locator('article.card').count());
  assert.equal(new Set(names).size, names.length, 'no product is shown twice');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a storefront deployed without its config.json says so instead of staying blank', async () => {
  const page = await newPage();
  await page.route('**/config.json', (route) => route.fulfill({ status: 404, body: 'not found' }));
  await page.goto(site);
  const note = page.locator('#no-config');
  await note.waitFor();
  assert.match(await note.innerText(), /no config\.json/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the storefront works at phone width', async () => {
  const page = await newPage({ width: 390, height: 844 });
  await page.goto(site);
  await page.getByRole('heading', { name: 'Fresh from the roastery' }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);
  await page.screenshot({ path: path.join(shots, 'phone.png') });
});

test('the storefront runs under its Content-Security-Policy, which refuses an injected inline script', async () => {
  const page = await newPage();
  await page.goto(site);
  await page.getByRole('heading', { name: 'Fresh from the roastery' }).waitFor();
  assert.deepEqual(page.errors, [], 'the site itself breaks no rule of its policy');
  // What an XSS would try: an inline script never runs, and the attempt is reported.
  const ran = await page.evaluate(() => {
    window.injected = false;
    const s = document.createElement('script');
    s.textContent = 'window.injected = true';
    document.body.append(s);
    return window.injected;
  });
  assert.equal(ran, false);
  await page.waitForTimeout(200);
  assert.ok(page.errors.some((e) => e.includes('script-src')), JSON.stringify(page.errors));
  await page.close();
});

journey('an admin saves the shipping and tax settings, and a save over another admin\'s change is refused', async () => {
  const page = await newPage();
  const login = await adminLogin();
  await signInAs(page, login);
  await page.goto(`${site}#/admin/settings`);
  const shipping = page.locator('#shipping-doc');
  await shipping.waitFor();
  const zones = JSON.parse(await shipping.inputValue()).zones;
  assert.ok(zones.some((z) => z.countries.includes('US')), 'the settings show the shop\'s zones');

  // Saved as it stands: the document round-trips, and the page now holds its new version.
  await page.getByRole('button', { name: 'Save shipping rates' }).click();
  await page.locator('#shipping-message', { hasText: 'Saved.' }).waitFor();

  // Text that is not JSON never reaches the API.
  await page.locator('#tax-doc').fill('{ "regions": [');
  await page.getByRole('button', { name: 'Save tax rates' }).click();
  await page.locator('#tax-message', { hasText: 'not valid JSON' }).waitFor();

  // Another admin saves the shipping rates meanwhile: this page's save must not overwrite theirs.
  const auth = { authorization: `Bearer ${login.body.token}` };
  const current = await fetch(`${api}/shipping`, { headers: auth });
  const other = await fetch(`${api}/shipping`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json', 'if-match': current.headers.get('etag') },
    body: JSON.stringify(await current.json()),
  });
  assert.equal(other.status, 200);
  await page.getByRole('button', { name: 'Save shipping rates' }).click();
  await page.locator('#shipping-message', { hasText: 'Another admin saved a change' }).waitFor();
  assert.deepEqual(page.errors, []);
  await page.close();
});

journey('the owner sees a paid order in the sales figures and among the best sellers', async () => {
  const admin = (await adminLogin()).body.token;
  const totals = async () => (await call('GET', '/admin/stats', { token: admin })).body.totals;
  const before = await totals();
  const name = `Zeta Grinder ${Date.now()}`;
  const made = await call('POST', '/products', { token: admin, body: { name, price_cents: 95_000, category: 'gear', stock: 10 } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const filter = `Zeta Filter ${Date.now()}`;
  const filterMade = await call('POST', '/products', { token: admin, body: { name: filter, price_cents: 900, category: 'gear', stock: 1 } });
  assert.equal(filterMade.status, 201, JSON.stringify(filterMade.body));
  const email = `owner-view+${Date.now()}@example.com`;
  assert.equal((await call('POST', '/users/register', { body: { email, password: 'dashboard-shopper-9', name: 'Dana' } })).status, 201);
  const token = (await call('POST', '/users/login', { body: { email, password: 'dashboard-shopper-9' } })).body.token;
  const order = await call('POST', '/orders', {
    token, headers: { 'idempotency-key': `dash-${Date.now()}` },
    body: { items: [{ product_id: made.body.id, quantity: 2 }], shipping_address: OREGON, shipping_method: 'standard' },
  });
  assert.equal(order.status, 201, JSON.stringify(order.body));
  assert.equal((await call('PUT', `/orders/${order.body.id}/status`, { token: admin, body: { status: 'PAID' } })).status, 200);

  // The figures follow the events (table stream, bus, record-sales) within seconds.
  const page = await newPage();
  await signInAs(page, (await adminLogin()));
  const paidShown = async () => Number(await page.locator('#sales-totals [data-figure="paid"] dd').innerText());
  await page.goto(`${site}#/admin/sales`);
  const deadline = Date.now() + 30_000;
  let paid = await paidShown();
  while (paid < before.paid + 1 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    await page.reload();
    paid = await paidShown();
  }
  assert.ok(paid >= before.paid + 1, `paid orders shown: ${paid}, before: ${before.paid}`);
  await page.screenshot({ path: path.join(shots, 'admin-sales.png'), fullPage: true });
  const row = page.locator('#top-products tr', { hasText: name });
  assert.equal(await row.locator('td').nth(1).innerText(), '2');
  assert.equal(await row.locator('td').nth(2).innerText(), '$1,900.00');
  const after = await totals();
  assert.ok(after.gross_cents - before.gross_cents >= order.body.total_cents, 'the order\'s total is in the gross sales');
  // Eight grinders are left, above the threshold; the one filter left is running low.
  const lowNames = await page.locator('#low-stock tbody td:first-child').allInnerTexts();
  assert.ok(!lowNames.includes(name), 'eight left is not low');
  const lowRow = page.locator('#low-stock tbody tr', { hasText: filter });
  assert.equal(await lowRow.locator('td').nth(1).innerText(), '1');
  assert.equal(await lowRow.getByRole('link').getAttribute('href'), `/admin/products/${filterMade.body.id}`);
  // The accountant's file: every order of the range, this one included, as one CSV.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download these orders (CSV)' }).click()]);
  assert.match(download.suggestedFilename(), /^orders-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync(await download.path(), 'utf8');
  assert.ok(csv.startsWith('order_id,placed_at,'), csv.slice(0, 80));
  const line = csv.split('\r\n').find((l) => l.startsWith(order.body.id));
  assert.ok(line && line.includes(`,${email},`) && line.includes(`2 x ${name}`), line);
  await page.getByRole('link', { name: '7 days' }).click();
  await page.locator('#sales-days tbody tr').nth(6).waitFor();
  assert.equal(await page.locator('#sales-days tbody tr').count(), 7);
  assert.deepEqual(page.errors, []);
  await page.close();
});

journey('an admin finds a customer by email, disables the account and enables it again', async () => {
  const email = `blocked+${Date.now()}@example.com`;
  assert.equal((await call('POST', '/users/register', { body: { email, password: 'blocked-shopper-7', name: 'Bo' } })).status, 201);
  const token = (await call('POST', '/users/login', { body: { email, password: 'blocked-shopper-7' } })).body.token;
  const page = await newPage();
  await signInAs(page, await adminLogin());
  await page.goto(`${site}#/admin/customers`);
  await page.getByLabel('Email starts with').fill(email.slice(0, 14).toUpperCase());
  await page.getByRole('button', { name: 'Find' }).click();
  await page.getByRole('link', { name: email }).click();
  await page.getByRole('heading', { name: 'Bo' }).waitFor();
  assert.match(await page.locator('#customer-facts').innerText(), /1 device/);
  await page.getByRole('button', { name: 'Disable account' }).click();
  await page.getByRole('button', { name: 'Enable account' }).waitFor();
  assert.match(await page.locator('#customer-facts').innerText(), /Disabled[\s\S]*0 devices/);
  assert.equal((await call('GET', '/users/me', { token })).status, 401, 'the session ended at once');
  const refused = await call('POST', '/users/login', { body: { email, password: 'blocked-shopper-7' } });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error.code, 'account_disabled');
  await page.getByRole('button', { name: 'Enable account' }).click();
  await page.getByRole('button', { name: 'Disable account' }).waitFor();
  assert.equal((await call('POST', '/users/login', { body: { email, password: 'blocked-shopper-7' } })).status, 200);
  assert.deepEqual(page.errors, []);
  await page.close();
});

journey('an admin creates a discount code, a shopper saves with it at checkout, and the admin ends it', async () => {
  const code = `SAVE${Date.now() % 100000}`;
  const admin = await newPage();
  await signInAs(admin, await adminLogin());
  await admin.goto(`${site}#/admin/promotions`);
  await admin.getByRole('heading', { name: 'New discount code' }).waitFor();
  await admin.getByRole('textbox', { name: 'Code' }).fill(code.toLowerCase());
  await admin.getByLabel('Kind').selectOption('fixed');
  await admin.getByLabel('Percent or amount').fill('5');
  await admin.getByLabel('Uses in all (optional)').fill('5');
  await admin.getByRole('button', { name: 'Create code' }).click();
  const row = admin.locator(`tr[data-promotion="${code}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /\$5\.00 off[\s\S]*0 \/ 5[\s\S]*Running/);

  const page = await newPage();
  const { login } = await confirmedShopper(page, 'Hedy', 'frequency-hopping-42');
  const products = (await call('GET', '/products?limit=5')).body.items;
  const token = login.body.token;
  await call('PUT', '/cart', { token, body: { items: [{ product_id: products[0].id, quantity: 2 }] } });
  await signInAs(page, login);
  await page.goto(`${site}#/checkout`);
  await page.getByRole('heading', { name: 'Checkout' }).waitFor();
  await shipTo(page, OREGON);
  await page.locator('#shipping-methods').waitFor();
  const before = await figure(page, 'total');
  await page.getByRole('textbox', { name: 'Discount code' }).fill('NOT-A-CODE');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('#promo-message', { hasText: 'not a discount code' }).waitFor();
  assert.equal(await figure(page, 'total'), before, 'a refused code changes nothing');
  await page.getByRole('textbox', { name: 'Discount code' }).fill(code.toLowerCase());
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('#promo-message', { hasText: `${code} is applied` }).waitFor();
  assert.match(await figure(page, 'discount'), new RegExp(`${code}[\\s\\S]*-\\$5\\.00`));
  const quoted = await figure(page, 'total');
  assert.notEqual(quoted, before);
  await page.getByRole('button', { name: /^Place order/ }).click();
  await page.getByRole('heading', { name: /^Order / }).waitFor();
  const order = (await call('GET', `/orders/${page.url().split('/').pop()}`, { token })).body;
  assert.equal(order.promo_code, code);
  assert.equal(order.discount_cents, 500);
  const dollars = `$${Math.floor(order.total_cents / 100)}.${String(order.total_cents % 100).padStart(2, '0')}`;
  assert.ok(quoted.includes(dollars), `the order charges what the review showed: ${quoted} vs ${dollars}`);

  await admin.reload();
  await row.waitFor();
  assert.match(await row.innerText(), /1 \/ 5/);
  await row.getByRole('button', { name: 'End now' }).click();
  await admin.locator(`tr[data-promotion="${code}"]`, { hasText: 'Ended' }).waitFor();
  const late = await call('POST', '/checkout/quote', { token, body: { items: [{ product_id: products[0].id, quantity: 1 }], shipping_address: OREGON, promo_code: code } });
  assert.equal(late.status, 422);
  assert.equal(late.body.error.details.reason, 'ended');
  // The Activity tab shows both changes, newest first, each field before and after.
  await admin.getByRole('link', { name: 'Activity' }).click();
  // Other journeys run alongside: this code's entries are the ones that name it.
  const entries = admin.locator('#audit tbody tr', { hasText: code });
  await entries.first().waitFor();
  assert.equal(await entries.count(), 2);
  const [ended, created] = [entries.nth(0), entries.nth(1)];
  assert.match(await ended.innerText(), new RegExp(`Changed discount code ${code}[\\s\\S]*ends at: none → \\d{4}-`));
  assert.match(await ended.innerText(), /admin@/);
  assert.match(await created.innerText(), new RegExp(`Created discount code ${code}[\\s\\S]*max redemptions: none → 5`));
  assert.deepEqual(page.errors, []);
  assert.deepEqual(admin.errors, []);
  await page.close();
  await admin.close();
});

journey('every page loads without a layout shift and with no accessibility violation, at phone size', async () => {
  const page = await newPage({ width: 412, height: 823 });
  const products = (await call('GET', '/products?limit=5')).body.items;
  const { login } = await confirmedShopper(page, 'Audre', 'audre-passphrase-7');
  const token = login.body.token;
  const order = await call('POST', '/orders', {
    token, headers: { 'idempotency-key': `audit-${Date.now()}` },
    body: { items: [{ product_id: products[0].id, quantity: 1 }], shipping_address: OREGON, shipping_method: 'standard' },
  });
  assert.equal(order.status, 201, JSON.stringify(order.body));
  await call('PUT', '/cart', { token, body: { items: [{ product_id: products[1].id, quantity: 1 }] } });
  const admin = await adminLogin();
  // Every kind of stock label is on the search page: plenty, only a few left, sold out.
  for (const [name, stock] of [['Audit Plenty', 50], ['Audit Few', 2], ['Audit Gone', 0]]) {
    const made = await call('POST', '/products', { token: admin.body.token, body: { name, price_cents: 500, category: 'tea', stock } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
  }
  const pages = {
    guest: ['', `category/${products[0].category}`, 'search?q=audit', `products/${products[0].slug}`, `product/${products[0].id}`, 'cart', 'login', 'register', 'forgot'],
    shopper: ['account', 'orders', `orders/${order.body.id}`, 'checkout'],
    admin: ['admin/sales', 'admin/products', 'admin/products/new', 'admin/orders', 'admin/customers', `admin/customers/${login.body.user.id}`, 'admin/promotions', 'admin/settings', 'admin/audit'],
  };
  const found = [];
  // A tab for each of the three, side by side (a tab keeps its own session): most of a page's
  // inspection is waiting for the network to go quiet.
  const tabs = await Promise.all(Object.entries(pages).map(async ([who, paths]) => {
    const tab = who === 'guest' ? page : await newPage({ width: 412, height: 823 });
    if (who === 'shopper') await signInAs(tab, login);
    if (who === 'admin') await signInAs(tab, admin);
    for (const at of paths) {
      const { cls, shifted, violations } = await inspect(tab, site + at);
      console.log(`/${at}: CLS ${cls.toFixed(3)}, ${violations.length} accessibility violation(s)`);
      if (cls > 0.02) found.push(`/${at}: layout shift ${cls.toFixed(3)} (at most 0.02): ${shifted.join('; ')}`);
      for (const v of violations) found.push(`/${at}: ${v}`);
    }
    return tab;
  }));
  assert.deepEqual(found, []);
  for (const tab of tabs) {
    assert.deepEqual(tab.errors, []);
    await tab.close();
  }
});

/** Moves the focus with Tab (Shift+Tab with `back`) until `selector` has it, as someone using the
 *  keyboard alone would, and checks that the focused element shows it. */
async function tabTo(page, selector, { back = false } = {}) {
  for (let i = 0; i < 150; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const shown = await page.evaluate((sel) => {
      const el = document.activeElement;
      if (!el?.matches(sel)) return null;
      const s = getComputedStyle(el);
      return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
    }, selector);
    if (shown !== null) return assert.ok(shown, `${selector} shows that it has the focus`);
  }
  assert.fail(`the keyboard never reached ${selector}`);
}

journey('a shopper finds, buys and pays with the keyboard alone, always seeing where the focus is', async () => {
  const page = await newPage();
  const { login } = await confirmedShopper(page, 'Haben', 'haben-passphrase-8');
  await signInAs(page, login);
  await page.goto(site);
  await page.getByRole('heading', { name: 'Fresh from the roastery' }).waitFor();
  await taken(page);

  await tabTo(page, '#search-q');
  await page.keyboard.type('earl');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Results for “earl”' }).waitFor();
  await tabTo(page, 'button[aria-label="Add Earl Grey Supreme to cart"]');
  await page.keyboard.press('Enter');
  await page.locator('#cart-count', { hasText: '1' }).waitFor();
  await tabTo(page, 'a.cart-link', { back: true });
  await page.keyboard.press('Enter');
  await page.locator('tr[data-line]').waitFor();
  await tabTo(page, '#checkout');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Checkout' }).waitFor();

  for (const [field, text] of [['line1', OREGON.line1], ['city', OREGON.city], ['region', OREGON.region], ['postal_code', OREGON.postal_code]]) {
    await tabTo(page, `#ship-${field}`);
    await page.keyboard.type(text);
  }
  await tabTo(page, '#ship-country');
  await page.keyboard.type('United States');
  await tabTo(page, '#to-shipping');
  await page.keyboard.press('Enter');
  await page.locator('#shipping-methods').waitFor();
  await tabTo(page, '#place-order');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Pay by card' }).waitFor();

  // A declined card is announced where the focus can find it, then another card pays.
  const card = async (number) => {
    for (const [field, text] of [['number', number], ['exp_month', '12'], ['exp_year', '35'], ['cvc', '123'], ['postal_code', '10001']]) {
      await tabTo(page, `#card-field input[placeholder="${field}"]`);
      await page.keyboard.press('ControlOrMeta+a');
      await page.keyboard.type(text);
    }
    await tabTo(page, '#pay');
    await page.keyboard.press('Enter');
  };
  await card('4000000000000341');
  const message = page.locator('#pay-message', { hasText: 'Your card was declined' });
  await message.waitFor();
  assert.ok(await message.evaluate((el) => el.closest('[aria-live], [role=status], [role=alert]') !== null), 'the refusal is announced');
  await card('4242424242424242');
  await page.locator('[data-payment="paid"]', { hasText: 'Payment received' }).waitFor({ timeout: 30_000 });
  assert.deepEqual(page.errors, []);
  await page.close();
});

journey('a shopper whose password became too easy to guess chooses a new one right after signing in', async () => {
  const page = await newPage();
  const email = `walt+${Date.now()}@example.com`;
  assert.equal((await call('POST', '/users/register', { body: { email, password: 'zebra-stripes-9', name: 'Walt' } })).status, 201);
  // Renamed to the password itself: today's rules refuse a password equal to the account's name.
  const first = await call('POST', '/users/login', { body: { email, password: 'zebra-stripes-9' } });
  assert.equal((await call('PUT', '/users/me', { token: first.body.token, body: { name: 'zebra-stripes-9' } })).status, 200);

  await page.goto(`${site}#/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('zebra-stripes-9');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#weak-password-note').waitFor();
  assert.deepEqual(await accessibilityViolations(page), []);
  const fresh = page.getByLabel(/^New password/);
  await fresh.fill('zebra-stripes-9');
  await page.getByRole('button', { name: 'Set password and continue' }).click();
  await page.locator('#new-password-form .error', { hasText: 'too easy to guess' }).waitFor();
  await fresh.fill('a-quieter-horse-21');
  await page.getByRole('button', { name: 'Set password and continue' }).click();
  await page.getByRole('heading', { name: 'Fresh from the roastery' }).waitFor();
  await page.getByRole('link', { name: 'Orders', exact: true }).click();
  await page.getByRole('heading', { name: 'Your orders' }).waitFor();
  assert.deepEqual(page.errors, []);
  await page.close();
});

journey('a shopper turns on two-factor sign-in, signs in with a code, then with a recovery code after losing the phone', async () => {
  const page = await newPage();
  const email = `tess+${Date.now()}@example.com`;
  const password = 'two-steps-ahead-7';
  assert.equal((await call('POST', '/users/register', { body: { email, password, name: 'Tess' } })).status, 201);
  await passwordStep(page, email, password);
  await page.locator('#nav-account').waitFor();
  await page.goto(`${site}#/account`);
  const box = page.locator('#two-factor');
  await box.getByLabel('Current password').fill(password);
  await box.getByRole('button', { name: 'Set up' }).click();
  await page.locator('#mfa-qr').waitFor();
  assert.deepEqual(await accessibilityViolations(page), []);
  const secret = (await page.locator('#mfa-secret').innerText()).trim();
  // A wrong code is said so, and nothing is on yet.
  await box.getByLabel('Code from the app').fill('000000');
  await box.getByRole('button', { name: 'Turn on' }).click();
  await box.locator('.error', { hasText: 'wrong' }).waitFor();
  await box.getByLabel('Code from the app').fill(await unusedCode(secret));
  await box.getByRole('button', { name: 'Turn on' }).click();
  await page.locator('#recovery-codes').waitFor();
  const codes = await page.locator('#recovery-codes li').allInnerTexts();
  assert.equal(codes.length, 10, codes.join());
  assert.deepEqual(await accessibilityViolations(page), []);
  await page.screenshot({ path: path.join(shots, 'two-factor-recovery-codes.png') });
  await page.getByRole('button', { name: 'I have kept them' }).click();
  await page.locator('#mfa-on').waitFor();
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('link', { name: 'Sign in' }).waitFor();

  // The password alone is not enough: the code step follows, and the app's code signs in.
  await passwordStep(page, email, password);
  await page.getByRole('heading', { name: 'Enter your code' }).waitFor();
  assert.equal(await page.locator('#nav-account').isVisible(), false, 'signed in before the code');
  assert.deepEqual(await accessibilityViolations(page), []);
  await page.getByLabel('Code').fill(await unusedCode(secret));
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('#nav-account').waitFor();
  await page.goto(`${site}#/account`);
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('link', { name: 'Sign in' }).waitFor();

  // The phone is lost: a recovery code signs in once.
  await passwordStep(page, email, password);
  await page.getByLabel('Code').fill(codes[0]);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('#nav-account').waitFor();
  const again = await call('POST', '/users/login', { body: { email, password } });
  const reused = await call('POST', '/users/login/mfa', { body: { mfa_token: again.body.mfa_token, code: codes[0] } });
  assert.equal(reused.status, 401, 'a recovery code signs in once');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the published pages are revalidated, and the scripts and styles they name are cached for good under hashed names', async () => {
  const page = await fetch(site + 'index.html');
  assert.equal(page.headers.get('cache-control'), 'no-cache');
  const html = await page.text();
  const assets = [...html.matchAll(/(?:href|src)="\/((?:js\/)?[\w-]+\.[0-9a-f]{10}\.(?:js|css))"/g)].map((m) => m[1]);
  assert.equal(assets.length, 2, html);
  for (const asset of assets) {
    const res = await fetch(site + asset);
    assert.equal(res.status, 200, asset);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable', asset);
  }
  // The entry module names its imports by their hashed names too.
  const main = await (await fetch(site + assets.find((a) => a.startsWith('js/main.')))).text();
  assert.match(main, /from '\.\/api\.[0-9a-f]{10}\.js'/);
});

test('a product page carries its name, price, availability and JSON-LD without JavaScript, and the script takes it over', async () => {
  const { items } = await (await fetch(`${api}/products?limit=100`)).json();
  const p = items.find((x) => x.stock > 0);
  // What a crawler or a link preview gets: the HTML as served, no script run.
  const res = await fetch(`${site}products/${p.slug}`);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.ok(html.includes(`<h1>${p.name.replace(/&/g, '&amp;')}</h1>`), html);
  assert.ok(html.includes(`<link rel="canonical" href="${site}products/${p.slug}">`));
  const ld = JSON.parse(html.match(/<script type="application\/ld\+json">(.*?)<\/script>/)[1]);
  assert.equal(ld['@type'], 'Product');
  assert.equal(ld.offers.price, (p.price_cents / 100).toFixed(2));
  assert.equal(ld.offers.availability, 'https://schema.org/InStock');
  const sitemap = await (await fetch(`${site}sitemap.xml`)).text();
  assert.ok(sitemap.includes(`<loc>${site}products/${p.slug}</loc>`));
  assert.match(await (await fetch(`${site}robots.txt`)).text(), /Sitemap: .*sitemap\.xml/);
  // An old hash link still lands on its page.
  const page = await newPage();
  await page.goto(`${site}#/product/${p.id}`);
  await page.getByRole('heading', { name: p.name }).waitFor();
  // The prerendered page is taken over, not drawn again: its own button adds to the cart.
  await page.goto(`${site}products/${p.slug}`);
  const heading = await page.getByRole('heading', { name: p.name }).elementHandle();
  await taken(page);
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.locator('#toast', { hasText: 'added to your cart' }).waitFor();
  assert.ok(await heading.evaluate((h) => h.isConnected), 'the page was not redrawn');
  assert.equal(await page.locator('#cart-count').innerText(), '1');
  assert.deepEqual(page.errors, []);
  await page.close();
});

describe('journeys, two at a time', { concurrency: 2 }, () => {
  for (const [name, fn] of journeys) test(name, fn);
});
