// The shopper's pages: catalog, product, cart and checkout, orders, sign-in and account.

import { api, ApiError, loadConfig, session } from './api.js';
import * as cart from './cart.js';
import { payPanel } from './pay.js';
import { go, render, safeNext, toLogin } from './router.js';
import { addressBlock, banner, date, explain, figures, h, money, orderCard, pager, paymentBadge, pretty, productImage, stockLabel, toast, trackingLine } from './ui.js';

// ------------------------------------------------------------------ catalog

let categories = null;

async function loadCategories() {
  if (!categories) {
    const all = await api('GET', '/products?limit=100');
    categories = [...new Set(all.items.map((p) => p.category))].sort();
  }
  return categories;
}


/** A product's card; the first row's pictures (`i` < 4) load at once, the rest when scrolled to. */
function productCard(p, i = 99) {
  const href = `/product/${p.id}`;
  return h('article', { class: 'card', 'data-product': p.slug },
    h('a', { class: 'cover', href, tabindex: '-1', 'aria-hidden': 'true' }, productImage(p, { eager: i < 4 })),
    h('div', { class: 'body' },
      h('h2', {}, h('a', { href }, p.name)),
      stockLabel(p.stock),
      h('div', { class: 'row' },
        h('span', { class: 'price' }, money(p.price_cents, p.currency)),
        h('button', {
          // The name read out starts with the words on the button, as speech input expects.
          class: 'secondary', disabled: p.stock <= 0, 'aria-label': p.stock > 0 ? `Add ${p.name} to cart` : `Sold out: ${p.name}`,
          onclick: (e) => addToCart(p, 1, e.currentTarget),
        }, p.stock > 0 ? 'Add' : 'Sold out'))));
}

async function addToCart(p, qty, button) {
  button.disabled = true;
  try {
    await cart.add(p.id, qty);
    toast(`${p.name} added to your cart`);
  } catch (err) {
    if (err.status === 401) return toLogin();
    banner(explain(err));
  } finally {
    button.disabled = false;
  }
}

async function catalog(params, _id, show) {
  const q = params.get('q') || '';
  const category = params.get('category') || '';
  document.getElementById('search-q').value = q;
  const query = new URLSearchParams({ limit: '12' });
  if (q) query.set('q', q);
  if (category) query.set('category', category);

  const chip = (value, label) => h('li', {}, h('button', {
    'aria-pressed': String(category === value),
    onclick: () => go(`/search?${new URLSearchParams({ ...(q && { q }), ...(value && { category: value }) })}`),
  }, label));
  const grid = h('div', { class: 'grid', id: 'products' });
  const title = q && category ? `${pretty(category)} matching “${q}”`
    : q ? `Results for “${q}”` : category ? pretty(category) : 'Fresh from the roastery';
  const products = pager(
    (cursor) => api('GET', `/products?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
    (items) => grid.append(...items.map(productCard)),
  );
  const [page, cats] = await Promise.all([products.first(), loadCategories()]);

  show(
    h('h1', {}, title),
    h('ul', { class: 'chips', 'aria-label': 'Categories' }, chip('', 'All'), cats.map((c) => chip(c, pretty(c)))),
    page.items.length ? grid : h('div', { class: 'empty' }, q ? `Nothing matches “${q}”. Try a shorter word.` : 'No products here yet.'),
    products.more,
  );
}

/** A prerendered page (home, category, product) taken over: its buttons work, its search box says
 *  what it searched, and its stock labels show the live count (the page says only in or out). */
export async function hydrate(root) {
  const qty = root.querySelector('#qty');
  root.querySelectorAll('button[data-add]').forEach((b) => {
    const p = { id: b.dataset.add, name: b.dataset.name };
    b.addEventListener('click', () => addToCart(p, qty ? Math.max(1, Math.min(99, Number(qty.value) || 1)) : 1, b));
    // Written disabled until now (`data-wait`), so no click went to a button that did nothing.
    if (b.hasAttribute('data-wait')) {
      b.removeAttribute('data-wait');
      b.disabled = false;
    }
  });
  // From here on its buttons work.
  root.dataset.live = 'true';
  const labels = [...root.querySelectorAll('[data-stock]')];
  if (!labels.length) return;
  const ids = [...new Set(labels.map((l) => l.dataset.stock))].slice(0, 100);
  const live = await api('GET', `/inventory?ids=${ids.map(encodeURIComponent).join(',')}`).catch(() => null);
  for (const item of live?.items || []) {
    const id = CSS.escape(item.product_id);
    root.querySelectorAll(`[data-stock="${id}"]`).forEach((l) => {
      const now = stockLabel(item.stock);
      l.className = now.className;
      l.textContent = now.textContent;
    });
    // Sold out (or back) since the page was written: the button says so, in the same place.
    root.querySelectorAll(`button[data-add="${id}"]`).forEach((b) => {
      const out = item.stock <= 0;
      if (b.disabled === out) return;
      b.disabled = out;
      const name = b.dataset.name;
      if (b.hasAttribute('aria-label')) b.setAttribute('aria-label', out ? `Sold out: ${name}` : `Add ${name} to cart`);
      b.textContent = out ? 'Sold out' : (b.classList.contains('secondary') ? 'Add' : 'Add to cart');
    });
  }
}

async function productPage(_params, id, show) {
  const p = await api('GET', `/products/${encodeURIComponent(id)}`);
  document.title = `${p.name} — Bean & Leaf`;
  // This address is the script's; the product's own page is /products/<slug>.
  const canonical = document.querySelector('link[rel="canonical"]') || document.head.appendChild(h('link', { rel: 'canonical' }));
  canonical.href = `${location.origin}/products/${p.slug}`;
  const qty = h('input', { id: 'qty', class: 'qty', type: 'number', min: '1', max: String(Math.min(99, Math.max(p.stock, 1))), value: '1', inputmode: 'numeric' });
  const button = h('button', { disabled: p.stock <= 0, onclick: (e) => addToCart(p, Math.max(1, Math.min(99, Number(qty.value) || 1)), e.currentTarget) },
    p.stock > 0 ? 'Add to cart' : 'Sold out');
  show(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '/' }, 'Shop'), ' / ',
      h('a', { href: `/?category=${p.category}` }, pretty(p.category))),
    h('div', { class: 'product' },
      productImage(p, { sizes: '(max-width: 720px) 100vw, 480px', eager: true }),
      h('div', {},
        h('h1', {}, p.name),
        h('p', { class: 'price' }, money(p.price_cents, p.currency)),
        stockLabel(p.stock),
        h('p', {}, p.description || ''),
        h('div', { class: 'buy' }, h('label', { for: 'qty' }, 'Quantity', qty), button))),
  );
}

// ------------------------------------------------------------------ cart and checkout

async function cartPage(_params, _id, show) {
  const view = await cart.getCart();
  const message = h('p', { id: 'cart-message', 'aria-live': 'polite' });
  if (!view.items.length && !view.unavailable.length) {
    return show(h('h1', {}, 'Your cart'), h('div', { class: 'empty' }, 'Your cart is empty. ', h('a', { href: '/' }, 'Browse the shop')));
  }
  const change = async (productId, quantity, input) => {
    input.disabled = true;
    try {
      await cart.setQuantity(productId, quantity);
      await render();
    } catch (err) {
      input.disabled = false;
      message.className = 'error';
      message.textContent = explain(err);
    }
  };
  const rows = view.items.map((l) => {
    const input = h('input', { class: 'qty', type: 'number', min: '0', max: '99', value: String(l.quantity), 'aria-label': `Quantity of ${l.name}` });
    input.addEventListener('change', () => change(l.product_id, Math.max(0, Math.min(99, Number(input.value) || 0)), input));
    return h('tr', { 'data-line': l.product_id },
      h('td', {}, h('a', { href: `/product/${l.product_id}` }, l.name), h('br'),
        l.stock < l.quantity ? h('span', { class: 'stock out' }, l.stock ? `Only ${l.stock} left` : 'Sold out') : ''),
      h('td', { class: 'num hide-sm' }, money(l.unit_price_cents, view.currency)),
      h('td', { class: 'num' }, input),
      h('td', { class: 'num' }, money(l.line_total_cents, view.currency)),
      h('td', { class: 'num' }, h('button', { class: 'secondary', 'aria-label': `Remove ${l.name}`, onclick: (e) => change(l.product_id, 0, e.currentTarget) }, 'Remove')));
  });
  // The checkout page asks a guest to sign in first and comes back.
  const checkout = h('a', { class: 'button', id: 'checkout', href: '/checkout' }, session.token ? 'Check out' : 'Sign in to check out');
  show(
    h('h1', {}, 'Your cart'),
    view.unavailable.length ? h('p', { class: 'error' }, `${view.unavailable.length} item(s) are no longer sold and will not be ordered.`) : '',
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Product'), h('th', { class: 'num hide-sm' }, 'Price'), h('th', { class: 'num' }, 'Qty'), h('th', { class: 'num' }, 'Total'), h('th', {}, h('span', { class: 'visually-hidden' }, 'Actions')))),
      h('tbody', {}, rows),
      h('tfoot', {}, h('tr', {}, h('td', {}, 'Subtotal'), h('td', { class: 'hide-sm' }), h('td'), h('td', { class: 'num', id: 'cart-total' }, money(view.total_cents, view.currency)), h('td')))),
    h('p', { class: 'muted', style: 'text-align:right' }, 'Shipping and tax are added at checkout, once we know where it goes.'),
    h('div', { class: 'actions', style: 'margin-top:16px;justify-content:flex-end' }, h('a', { href: '/', class: 'button secondary' }, 'Keep shopping'), checkout),
    message,
  );
}

// ------------------------------------------------------------------ orders


function cancelButton(o, after) {
  if (o.status !== 'PENDING') return [];
  return [h('button', {
    class: 'secondary',
    onclick: async (e) => {
      if (!confirm('Cancel this order? The items go back on the shelf.')) return;
      e.currentTarget.disabled = true;
      try {
        await api('PUT', `/orders/${o.id}/status`, { auth: true, body: { status: 'CANCELLED' } });
        toast('Order cancelled');
        after();
      } catch (err) {
        banner(explain(err));
        after();
      }
    },
  }, 'Cancel order')];
}

async function ordersPage(_params, _id, show) {
  const list = h('div', { id: 'orders' });
  const orders = pager(
    (cursor) => api('GET', `/orders?limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { auth: true }),
    (items) => list.append(...items.map((o) => orderCard(o, cancelButton(o, render)))),
    'Older orders',
  );
  const first = await orders.first();
  show(h('h1', {}, 'Your orders'), first.items.length ? list : h('div', { class: 'empty' }, 'No orders yet. ', h('a', { href: '/' }, 'Start shopping')), orders.more);
}

async function orderPage(_params, id, show) {
  const o = await api('GET', `/orders/${encodeURIComponent(id)}`, { auth: true });
  const payable = o.status === 'PENDING' && o.user_id === session.user?.id;
  show(
    h('nav', { class: 'crumbs' }, h('a', { href: '/orders' }, 'Your orders')),
    h('h1', {}, `Order ${o.id.slice(-8)}`),
    orderCard(o, cancelButton(o, render)),
    h('section', { class: 'panel order-detail', 'aria-label': 'Delivery and charges' },
      h('div', { class: 'review-grid' },
        h('div', {}, h('h2', {}, 'Shipping to'), addressBlock(o.shipping_address), trackingLine(o)),
        h('div', {}, h('h2', {}, 'Charges'), figures(o),
          h('p', {}, h('a', { href: `/orders/${o.id}/receipt`, id: 'receipt-link' }, 'Printable receipt'))))),
    payable ? payPanel(o, render) : '',
  );
}

/** A receipt to print or keep: the shop's legal details (config.json), the order and its figures. */
async function receiptPage(_params, id, show) {
  const [o, config] = await Promise.all([api('GET', `/orders/${encodeURIComponent(id)}`, { auth: true }), loadConfig()]);
  const seller = config.shop || {};
  show(h('article', { class: 'receipt', id: 'receipt' },
    h('header', {},
      h('div', {}, h('h1', {}, 'Receipt'), h('p', {}, `Order ${o.id}`), h('p', {}, `Placed ${date(o.created_at)}`),
        h('p', {}, paymentBadge(o.payment_status, o.status))),
      h('div', { class: 'seller' }, h('strong', {}, seller.legalName || 'Bean & Leaf'),
        (seller.address || []).flatMap((line) => [h('br'), line]),
        seller.taxId ? [h('br'), `Tax id: ${seller.taxId}`] : '')),
    h('div', { class: 'review-grid' }, h('div', {}, h('h2', {}, 'Shipping to'), addressBlock(o.shipping_address), trackingLine(o))),
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Item'), h('th', { class: 'num' }, 'Qty'), h('th', { class: 'num' }, 'Price'), h('th', { class: 'num' }, 'Amount'))),
      h('tbody', {}, o.items.map((l) => h('tr', {}, h('td', {}, l.name), h('td', { class: 'num' }, String(l.quantity)),
        h('td', { class: 'num' }, money(l.unit_price_cents, o.currency)), h('td', { class: 'num' }, money(l.unit_price_cents * l.quantity, o.currency)))))),
    figures(o),
    h('p', { class: 'no-print actions' }, h('button', { onclick: () => print() }, 'Print'), h('a', { class: 'button secondary', href: `/orders/${o.id}` }, 'Back to the order'))));
}

// ------------------------------------------------------------------ account

function field(label, attrs) {
  return h('label', {}, label, h('input', attrs));
}

/** Submits a form through `action`, with a busy button and an inline message. */
function formHandler(form, action) {
  const message = h('p', { class: 'form-message', 'aria-live': 'polite' });
  form.append(message);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    message.textContent = '';
    try {
      const done = await action(Object.fromEntries(new FormData(form)));
      if (done) { message.className = 'success'; message.textContent = done; }
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      message.className = 'error';
      message.textContent = explain(err);
      const bad = err.field && form.querySelector(`[name="${err.field.split('.').pop()}"]`);
      if (bad) bad.focus();
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** Signs in with a password. Answers `{ mfa }` (the account has two-factor sign-in: the code
 *  step follows) or `{ weak }` (the account must first set a new password, its old one now too
 *  easy to guess; nothing else, the guest cart's merge included, works yet) or `{}`. */
async function signIn(email, password) {
  // The device token an earlier sign-in to this account gave this browser: with it, guessing
  // elsewhere against the account never slows this browser down.
  const deviceKey = `device:${email.trim().toLowerCase()}`;
  const device = localStorage.getItem(deviceKey);
  const res = await api('POST', '/users/login', { body: { email, password, ...(device ? { device_token: device } : {}) } });
  if (res.mfa_required) return { mfa: res.mfa_token, deviceKey };
  return signedIn(res, deviceKey);
}

async function signedIn(res, deviceKey) {
  localStorage.setItem(deviceKey, res.device_token);
  session.save(res.token, res.user, res.refresh_token);
  if (res.password_change_required) return { weak: true };
  await cart.mergeGuestCart().catch(() => {});
  return {};
}

/** The second step of a sign-in to an account with two-factor sign-in: a code from the app, or a
 *  recovery code when the phone is lost. */
function codeStep(step, password, params, show) {
  const form = formHandler(h('form', { class: 'form panel', id: 'mfa-form' },
    field('Code', { name: 'code', required: true, autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: '14', 'aria-describedby': 'mfa-hint' }),
    h('p', { class: 'muted', id: 'mfa-hint' }, 'The 6 digits your authenticator app shows now. Lost your phone? Enter one of your recovery codes instead.'),
    h('button', { type: 'submit' }, 'Continue')), async ({ code }) => {
    const res = await api('POST', '/users/login/mfa', { body: { mfa_token: step.mfa, code } });
    if ((await signedIn(res, step.deviceKey)).weak) return newPasswordStep(password, params, show);
    toast(`Welcome back, ${session.user.name.split(' ')[0]}`);
    afterLogin(params);
  });
  show(h('h1', {}, 'Enter your code'), form);
  form.querySelector('input').focus();
}

/** The step between a sign-in with a password today's rules refuse and everything else. */
function newPasswordStep(current, params, show) {
  const form = formHandler(h('form', { class: 'form panel', id: 'new-password-form' },
    field('New password (8 to 128 characters)', { name: 'password', type: 'password', required: true, minlength: '8', maxlength: '128', autocomplete: 'new-password' }),
    h('button', { type: 'submit' }, 'Set password and continue')), async ({ password }) => {
    await api('PUT', '/users/me', { auth: true, body: { password, current_password: current } });
    await cart.mergeGuestCart().catch(() => {});
    toast('Your new password is set');
    afterLogin(params);
  });
  show(h('h1', {}, 'Choose a new password'),
    h('p', { id: 'weak-password-note' }, 'Your password is one that is easy to guess, so it no longer protects your account. Choose a new one to continue.'),
    form);
}

function afterLogin(params) {
  // The nav changes as soon as the session is saved, so the shopper may already have moved on
  // while the guest cart was merged: never pull them back from where they went.
  if (!/^\/(login|register)\b/.test(location.pathname)) return;
  const next = params.get('next');
  go(safeNext(next));
}

async function loginPage(params, _id, show) {
  const note = sessionStorage.getItem('login-message');
  sessionStorage.removeItem('login-message');
  const form = formHandler(h('form', { class: 'form panel', id: 'login-form' },
    field('Email', { name: 'email', type: 'email', required: true, autocomplete: 'email' }),
    field('Password', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' }),
    h('button', { type: 'submit' }, 'Sign in')), async ({ email, password }) => {
    const step = await signIn(email, password);
    if (step.mfa) return codeStep(step, password, params, show);
    if (step.weak) return newPasswordStep(password, params, show);
    toast(`Welcome back, ${session.user.name.split(' ')[0]}`);
    afterLogin(params);
  });
  show(h('h1', {}, 'Sign in'), note ? h('p', { class: 'muted' }, note) : '', form,
    h('p', {}, 'New here? ', h('a', { href: `/register${params.toString() ? `?${params}` : ''}` }, 'Create an account')),
    h('p', {}, h('a', { href: '/forgot', id: 'forgot-link' }, 'Forgot your password?')));
}

// The answer is the same whether or not an account has the address (the API says so too).
async function forgotPage(_params, _id, show) {
  const form = formHandler(h('form', { class: 'form panel', id: 'forgot-form' },
    field('Email', { name: 'email', type: 'email', required: true, autocomplete: 'email' }),
    h('button', { type: 'submit' }, 'Email me a link')), async ({ email }) => {
    const r = await api('POST', '/users/password-reset', { body: { email } });
    show(h('h1', {}, 'Check your email'), h('p', { id: 'forgot-sent' }, r.message),
      h('p', {}, h('a', { href: '/login' }, 'Back to sign in')));
  });
  show(h('h1', {}, 'Forgot your password?'), h('p', { class: 'muted' }, 'We will email you a link to choose a new one.'), form);
}

/** The link's token, taken out of the address bar: the emails carry it after `#`, which no request
 *  sends, and a reload or a shared screenshot of the page must not send or show it either. */
function takeToken(params) {
  const token = params.get('token') || '';
  if (token) history.replaceState(null, '', location.pathname);
  return token;
}

async function resetPage(params, _id, show) {
  const token = takeToken(params);
  const form = formHandler(h('form', { class: 'form panel', id: 'reset-form' },
    field('New password (8 to 128 characters)', { name: 'password', type: 'password', required: true, minlength: '8', maxlength: '128', autocomplete: 'new-password' }),
    h('button', { type: 'submit' }, 'Set password')), async ({ password }) => {
    await api('POST', '/users/password-reset/confirm', { body: { token, password } });
    // Every session ended with the reset, this browser's too.
    session.clear();
    sessionStorage.setItem('login-message', 'Your password is set. Sign in with it.');
    go('/login');
  });
  show(h('h1', {}, 'Choose a new password'), form);
}

async function registerPage(params, _id, show) {
  const form = formHandler(h('form', { class: 'form panel', id: 'register-form' },
    field('Name', { name: 'name', required: true, autocomplete: 'name', maxlength: '100' }),
    field('Email', { name: 'email', type: 'email', required: true, autocomplete: 'email' }),
    field('Password (8 to 128 characters)', { name: 'password', type: 'password', required: true, minlength: '8', maxlength: '128', autocomplete: 'new-password' }),
    h('button', { type: 'submit' }, 'Create account')), async ({ name, email, password }) => {
    await api('POST', '/users/register', { body: { name, email, password } });
    await signIn(email, password);
    toast('Welcome to Bean & Leaf!');
    afterLogin(params);
  });
  show(h('h1', {}, 'Create your account'), form, h('p', {}, 'Already have one? ', h('a', { href: '/login' }, 'Sign in')));
}

// Opened from the email mailed at registration.
async function verifyPage(params, _id, show) {
  try {
    await api('POST', '/users/verify-email', { body: { token: takeToken(params) } });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return show(h('h1', {}, 'Confirm your email'), h('p', { id: 'verify-failed' }, err.message),
      h('p', {}, 'Signed in? Your account page sends a new link.'), h('a', { href: '/account' }, 'Your account'));
  }
  show(h('h1', {}, 'Thank you'), h('p', { id: 'verified' }, 'Your email address is confirmed: you can pay by card.'),
    h('a', { href: '/' }, 'Back to the shop'));
}

async function accountPage(_params, _id, show) {
  const me = await api('GET', '/users/me', { auth: true });
  const a = me.address || {};
  const profile = formHandler(h('form', { class: 'form wide panel', id: 'profile-form' },
    h('label', { class: 'full' }, 'Name', h('input', { name: 'name', required: true, value: me.name, autocomplete: 'name' })),
    h('label', { class: 'full' }, 'Address', h('input', { name: 'line1', value: a.line1 || '', autocomplete: 'address-line1', placeholder: 'Street and number' })),
    h('label', { class: 'full' }, 'Address line 2', h('input', { name: 'line2', value: a.line2 || '', autocomplete: 'address-line2' })),
    field('City', { name: 'city', value: a.city || '', autocomplete: 'address-level2' }),
    field('Region', { name: 'region', value: a.region || '', autocomplete: 'address-level1' }),
    field('Postal code', { name: 'postal_code', value: a.postal_code || '', autocomplete: 'postal-code' }),
    field('Country (2 letters)', { name: 'country', value: a.country || '', autocomplete: 'country', maxlength: '2' }),
    h('div', { class: 'full' }, h('button', { type: 'submit' }, 'Save profile'))), async (f) => {
    const hasAddress = f.line1 || f.city || f.postal_code || f.country;
    const address = hasAddress ? { line1: f.line1, city: f.city, postal_code: f.postal_code, country: f.country, ...(f.line2 && { line2: f.line2 }), ...(f.region && { region: f.region }) } : null;
    const user = await api('PUT', '/users/me', { auth: true, body: { name: f.name, address } });
    session.setUser(user);
    return 'Profile saved.';
  });
  const password = formHandler(h('form', { class: 'form panel', id: 'password-form' },
    field('Current password', { name: 'current_password', type: 'password', required: true, autocomplete: 'current-password' }),
    field('New password', { name: 'password', type: 'password', required: true, minlength: '8', maxlength: '128', autocomplete: 'new-password' }),
    h('button', { type: 'submit' }, 'Change password')), async (f) => {
    await api('PUT', '/users/me', { auth: true, body: f });
    return 'Password changed.';
  });
  const signOut = (path, label, done) => h('button', { class: 'secondary', id: path.slice(7), onclick: async () => {
    try { await api('POST', path, { auth: true }); } catch { /* the session ends either way */ }
    session.clear();
    cart.forgetCount();
    toast(done);
    go('/');
  } }, label);
  const sessions = h('div', { class: 'actions' },
    signOut('/users/logout', 'Sign out', 'Signed out'),
    signOut('/users/logout-all', 'Sign out everywhere', 'Signed out on every device'));
  const resend = h('button', { class: 'secondary', id: 'resend-verification', onclick: async () => {
    const r = await api('POST', '/users/verify-email/resend', { auth: true });
    toast(r.message);
  } }, 'Send the link again');
  const verified = me.email_verified
    ? h('p', { class: 'muted', id: 'email-verified' }, `Signed in as ${me.email} (confirmed)`)
    : h('p', { class: 'muted', id: 'email-unverified' }, `Signed in as ${me.email}. Confirm it with the link we emailed you to pay by card. `, resend);
  show(h('h1', {}, 'Your account'), verified, h('h2', {}, 'Profile'), profile, h('h2', {}, 'Password'), password,
    h('h2', {}, 'Two-factor sign-in'), twoFactor(me, () => accountPage(_params, _id, show)), h('h2', {}, 'Session'), sessions);
}

/** Two-factor sign-in on the account page: set up (password, scan, confirm with a code, keep the
 *  recovery codes) or turn off (password and a code). `again` draws the account page anew. */
function twoFactor(me, again) {
  const box = h('div', { id: 'two-factor' });
  const password = () => field('Current password', { name: 'current_password', type: 'password', required: true, autocomplete: 'current-password' });
  const code = (label) => field(label, { name: 'code', required: true, autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: '14' });
  if (me.mfa_enabled) {
    box.append(h('p', { id: 'mfa-on' }, 'On: signing in asks for a code from your authenticator app.'),
      formHandler(h('form', { class: 'form panel', id: 'mfa-off-form' }, password(), code('Code (or a recovery code)'),
        h('button', { type: 'submit', class: 'secondary' }, 'Turn off')), async (f) => {
        await api('DELETE', '/users/mfa/totp', { auth: true, body: f });
        toast('Two-factor sign-in is off');
        again();
      }));
    return box;
  }
  const confirm = (secret) => formHandler(h('form', { class: 'form panel', id: 'mfa-confirm-form' },
    h('img', { src: `data:image/svg+xml,${encodeURIComponent(secret.qr_svg)}`, alt: 'QR code to scan with your authenticator app', width: '200', height: '200', id: 'mfa-qr' }),
    h('p', {}, 'Or type this key into the app: ', h('code', { id: 'mfa-secret' }, secret.secret)),
    code('Code from the app'),
    h('button', { type: 'submit' }, 'Turn on')), async (f) => {
    const { recovery_codes: codes } = await api('POST', '/users/mfa/totp/confirm', { auth: true, body: f });
    box.replaceChildren(h('p', { id: 'mfa-on' }, 'Two-factor sign-in is on.'),
      h('p', {}, 'Keep these recovery codes somewhere safe: each one signs you in once if you lose your phone. They are shown only now.'),
      h('ol', { id: 'recovery-codes' }, ...codes.map((c) => h('li', {}, h('code', {}, c)))),
      h('button', { type: 'button', onclick: again }, 'I have kept them'));
    box.querySelector('button').focus();
  });
  box.append(h('p', { id: 'mfa-off' }, me.role === 'admin'
    ? 'Admin accounts need it for the back office: a code from an authenticator app on your phone at each sign-in.'
    : 'Add a second step to signing in: a code from an authenticator app on your phone.'),
  formHandler(h('form', { class: 'form panel', id: 'mfa-setup-form' }, password(),
    h('button', { type: 'submit' }, 'Set up')), async (f) => {
    const secret = await api('POST', '/users/mfa/totp', { auth: true, body: f });
    box.replaceChildren(h('p', {}, 'Scan the code with your authenticator app, then enter the code it shows.'), confirm(secret));
    box.querySelector('input[name="code"]').focus();
  }));
  return box;
}

// ------------------------------------------------------------------ routes

export const shopRoutes = [
  [/^\/$/, catalog, 'shop'],
  [/^\/category\/([\w-]+)$/, (params, category, show) => catalog(new URLSearchParams({ ...Object.fromEntries(params), category }), null, show), 'shop'],
  [/^\/product\/([\w-]+)$/, productPage, 'shop'],
  [/^\/cart$/, cartPage, 'cart'],
  [/^\/orders$/, ordersPage, 'orders', 'user'],
  [/^\/orders\/([\w-]+)$/, orderPage, 'orders', 'user'],
  [/^\/orders\/([\w-]+)\/receipt$/, receiptPage, 'orders', 'user'],
  [/^\/login$/, loginPage, 'login'],
  [/^\/register$/, registerPage, 'login'],
  [/^\/forgot$/, forgotPage, 'login'],
  [/^\/reset$/, resetPage, 'login'],
  [/^\/verify$/, verifyPage, 'login'],
  [/^\/account$/, accountPage, 'account', 'user'],
];
