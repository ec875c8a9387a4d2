// Admin pages: the sales figures, customers (find, disable), discount codes (create, see uses, end),
// the audit trail of every admin change, products (create, edit, stock, image upload through a presigned URL, delete),
// orders by status, the queue to ship (with tracking) and its packing slips, and the shipping and
// tax settings. The API enforces the admin role; these pages only show what it allows.

import { api } from './api.js';
import { go, render } from './router.js';
import { addressBlock, banner, CARRIERS, centsToInput, date, explain, h, money, orderCard, pager, parseCents, pretty, productImage, toast, trackingLine } from './ui.js';

const STATUSES = ['PENDING', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED'];
const NEXT = { PENDING: ['PAID', 'CANCELLED'], PAID: ['SHIPPED', 'CANCELLED'], SHIPPED: ['DELIVERED'] };
const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp'];

const ADMIN_TABS = { sales: 'Sales', products: 'Products', orders: 'Orders', customers: 'Customers', promotions: 'Discounts', settings: 'Shipping & tax', audit: 'Activity' };

function adminTabs(current) {
  return h('nav', { class: 'tabs', 'aria-label': 'Admin' }, Object.entries(ADMIN_TABS).map(([tab, name]) =>
    h('a', { class: `button ${current === tab ? '' : 'secondary'}`, href: `/admin/${tab}` }, name)));
}

async function adminProducts(_params, _id, show) {
  const body = h('tbody');
  const row = (p) => h('tr', { 'data-product': p.slug },
    h('td', {}, h('a', { href: `/admin/products/${p.id}` }, p.name), h('br'), h('span', { class: 'muted' }, pretty(p.category))),
    h('td', { class: 'num' }, money(p.price_cents, p.currency)),
    h('td', { class: 'num' }, String(p.stock)),
    h('td', { class: 'num' }, h('a', { class: 'button secondary', href: `/admin/products/${p.id}` }, 'Edit')));
  const products = pager(
    (cursor) => api('GET', `/products?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
    (items) => body.append(...items.map(row)),
  );
  await products.first();
  show(h('h1', {}, 'Manage the shop'), adminTabs('products'),
    h('p', {}, h('a', { class: 'button', href: '/admin/products/new', id: 'new-product' }, 'New product')),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Product'), h('th', { class: 'num' }, 'Price'), h('th', { class: 'num' }, 'Stock'), h('th', {}, h('span', { class: 'visually-hidden' }, 'Actions')))), body),
    products.more);
}

/** Uploads `file` as the product's image: ask the API for a presigned POST, then send the form to
 *  S3, whose policy fixes the key and type and caps the size (checked here first, for a clear
 *  message). The bucket's event then has resize-image check the file and make the product's
 *  picture; this waits (up to 30 s) until the product shows this upload or a later one. */
async function uploadImage(productId, file) {
  if (!IMAGE_TYPES.includes(file.type)) throw new Error('Images must be JPEG, PNG or WebP.');
  const grant = await api('POST', `/products/${productId}/image`, { auth: true, body: { content_type: file.type } });
  if (file.size > grant.max_bytes) throw new Error(`Images can be at most ${Math.floor(grant.max_bytes / 1048576)} MB.`);
  const form = new FormData();
  for (const [name, value] of Object.entries(grant.upload_fields)) form.append(name, value);
  form.append('file', file);
  const res = await fetch(grant.upload_url, { method: 'POST', body: form });
  if (!res.ok) throw new Error(`The image upload failed (${res.status}).`);
  for (let n = 0; n < 60; n++) {
    await new Promise((r) => setTimeout(r, 500));
    // A query of its own per poll: the product answer is cacheable.
    const p = await api('GET', `/products/${productId}?picture=${grant.upload}-${n}`);
    if (p.picture && p.picture.upload >= grant.upload) return p;
  }
  throw new Error('The image was uploaded but no picture was made from it: is it a JPEG, PNG or WebP of at most 40 megapixels?');
}

async function adminProductForm(_params, id, show) {
  // Fresh, not from the cache: an admin just saved it.
  const p = id ? await api('GET', `/products/${encodeURIComponent(id)}?fresh=${Date.now()}`) : null;
  const input = (label, name, attrs = {}) => h('label', attrs.full ? { class: 'full' } : {}, label,
    h('input', { name, id: `product-${name}`, value: attrs.value ?? '', ...attrs.input }));
  const image = h('input', { type: 'file', name: 'image', id: 'product-image', accept: IMAGE_TYPES.join(',') });
  const message = h('p', { 'aria-live': 'polite' });
  const form = h('form', { class: 'form wide panel', id: 'product-form' },
    input('Name', 'name', { full: true, value: p?.name, input: { required: true, maxlength: '200' } }),
    h('label', { class: 'full' }, 'Description', h('textarea', { name: 'description', id: 'product-description', maxlength: '5000' }, p?.description || '')),
    input(`Price (${p?.currency || 'USD'})`, 'price', { value: p ? centsToInput(p.price_cents) : '', input: { required: true, inputmode: 'decimal', placeholder: '12.50' } }),
    input('Stock', 'stock', { value: p ? String(p.stock) : '0', input: { required: true, type: 'number', min: '0', max: '1000000' } }),
    input('Category', 'category', { value: p?.category, input: { required: true, placeholder: 'coffee' } }),
    input('Slug (optional)', 'slug', { value: p?.slug, input: { placeholder: 'derived from the name' } }),
    h('label', { class: 'full' }, 'Image (JPEG, PNG or WebP)', image),
    h('div', { class: 'full actions' },
      h('button', { type: 'submit' }, p ? 'Save changes' : 'Create product'),
      p ? h('button', { type: 'button', class: 'danger', id: 'delete-product', onclick: () => remove(p) }, 'Delete') : ''),
    h('div', { class: 'full' }, message));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(form));
    const price = parseCents(f.price);
    message.className = 'error';
    if (price === null || price < 1) {
      message.textContent = 'Enter a price such as 12.50.';
      return;
    }
    const body = { name: f.name, description: f.description, price_cents: price, stock: Number(f.stock), category: f.category.trim().toLowerCase() };
    if (f.slug.trim()) body.slug = f.slug.trim();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const saved = p
        ? await api('PUT', `/products/${p.id}`, { auth: true, body })
        : await api('POST', '/products', { auth: true, body });
      if (image.files.length) await uploadImage(saved.id, image.files[0]);
      toast(p ? 'Product saved' : 'Product created');
      go(`/admin/products/${saved.id}`);
    } catch (err) {
      message.textContent = err.status ? explain(err) : err.message;
    } finally {
      button.disabled = false;
    }
  });

  async function remove(product) {
    if (!confirm(`Delete “${product.name}”? Existing orders keep their copy.`)) return;
    try {
      await api('DELETE', `/products/${product.id}`, { auth: true });
      toast('Product deleted');
      go('/admin/products');
    } catch (err) {
      message.className = 'error';
      message.textContent = explain(err);
    }
  }

  show(h('nav', { class: 'crumbs' }, h('a', { href: '/admin/products' }, 'Products')),
    h('h1', {}, p ? `Edit ${p.name}` : 'New product'),
    p ? h('div', { style: 'max-width:280px;margin-bottom:16px' }, productImage(p, { sizes: '280px', eager: true })) : '',
    form);
}

/** The ship form of a PAID order: carrier, tracking number (and for other carriers their page). */
function shipForm(o) {
  const url = h('label', { hidden: true }, 'Tracking page (https)', h('input', { name: 'tracking_url', type: 'url', placeholder: 'https://', maxlength: '500' }));
  const carrier = h('select', { name: 'carrier', required: true, onchange: () => { url.hidden = carrier.value !== 'other'; } },
    Object.entries(CARRIERS).map(([id, name]) => h('option', { value: id }, name)));
  const form = h('form', { class: 'ship-form', 'aria-label': `Ship order ${o.id.slice(-8)}` },
    h('label', {}, 'Carrier', carrier),
    h('label', {}, 'Tracking number', h('input', { name: 'tracking_number', required: true, maxlength: '40', autocomplete: 'off' })),
    url,
    h('button', { type: 'submit' }, 'Mark shipped'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(form));
    const body = { status: 'SHIPPED', carrier: f.carrier, tracking_number: f.tracking_number };
    if (f.carrier === 'other') body.tracking_url = f.tracking_url;
    form.querySelector('button').disabled = true;
    try {
      await api('PUT', `/orders/${o.id}/status`, { auth: true, body });
      toast(`Order ${o.id.slice(-8)} is on its way`);
      render();
    } catch (err) {
      form.querySelector('button').disabled = false;
      banner(explain(err));
    }
  });
  return form;
}

// The PAID tab is the queue to ship: oldest first, with where and how each order goes.
const TABS = { PENDING: 'Pending', PAID: 'To ship', SHIPPED: 'Shipped', DELIVERED: 'Delivered', CANCELLED: 'Cancelled' };

async function adminOrders(params, _id, show) {
  const status = STATUSES.includes(params.get('status')) ? params.get('status') : 'PENDING';
  const toShip = status === 'PAID';
  const list = h('div', { id: 'admin-orders' });
  const move = (o, to) => h('button', {
    class: to === 'CANCELLED' ? 'secondary' : '',
    'data-move': to,
    onclick: async (e) => {
      e.currentTarget.disabled = true;
      try {
        await api('PUT', `/orders/${o.id}/status`, { auth: true, body: { status: to } });
        toast(`Order ${o.id.slice(-8)} is now ${to.toLowerCase()}`);
      } catch (err) {
        banner(explain(err));
      }
      render();
    },
  }, to === 'CANCELLED' ? 'Cancel' : `Mark ${to.toLowerCase()}`);
  const card = (o) => {
    const moves = (NEXT[o.status] || []).filter((to) => to !== 'SHIPPED').map((to) => move(o, to));
    const el = orderCard(o, moves);
    if (toShip) {
      el.append(h('div', { class: 'review-grid' },
        h('div', {}, addressBlock(o.shipping_address), h('p', { class: 'muted' }, o.shipping_method.name)),
        h('div', {}, shipForm(o), h('p', {}, h('a', { href: `/admin/orders/${o.id}/slip` }, 'Packing slip')))));
    } else {
      el.append(trackingLine(o));
    }
    return el;
  };
  const sort = toShip ? '&sort=oldest' : '';
  const orders = pager(
    (cursor) => api('GET', `/orders?status=${status}${sort}&limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { auth: true }),
    (items) => list.append(...items.map(card)),
  );
  const first = await orders.first();
  show(h('h1', {}, 'Manage the shop'), adminTabs('orders'),
    h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Order status' }, STATUSES.map((s) =>
      h('a', { role: 'tab', 'aria-selected': String(s === status), class: `button ${s === status ? '' : 'secondary'}`, href: `/admin/orders?status=${s}` }, TABS[s]))),
    toShip ? h('p', { class: 'muted' }, 'Paid orders, oldest first.') : '',
    first.items.length ? list : h('div', { class: 'empty' }, toShip ? 'Nothing to ship.' : `No ${status.toLowerCase()} orders.`),
    orders.more);
}

/** What goes in the box: printed and packed with the parcel (no prices). */
async function packingSlip(_params, id, show) {
  const o = await api('GET', `/orders/${encodeURIComponent(id)}`, { auth: true });
  show(h('article', { class: 'receipt slip', id: 'packing-slip' },
    h('header', {}, h('div', {}, h('h1', {}, 'Packing slip'), h('p', {}, `Order ${o.id}`), h('p', {}, `Placed ${date(o.created_at)}`)),
      h('div', {}, h('h2', {}, 'Ship to'), addressBlock(o.shipping_address), h('p', {}, o.shipping_method.name))),
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Item'), h('th', { class: 'num' }, 'Qty'), h('th', {}, h('span', { class: 'visually-hidden' }, 'Packed')))),
      h('tbody', {}, o.items.map((l) => h('tr', {}, h('td', {}, l.name), h('td', { class: 'num' }, String(l.quantity)), h('td', {}, '☐'))))),
    h('p', { class: 'no-print actions' }, h('button', { onclick: () => print() }, 'Print'), h('a', { class: 'button secondary', href: '/admin/orders?status=PAID' }, 'Back to the queue'))));
}

/** One settings document (shipping zones and rates, or tax regions) as JSON the API validates.
 *  The save sends the version it was read at: when another admin saved first, the API answers 412
 *  and this admin reloads instead of overwriting their change. */
function settingsForm(path, title, loaded) {
  let etag = loaded.etag;
  const id = path.slice(1);
  const text = h('textarea', { id: `${id}-doc`, name: 'doc', rows: '16', spellcheck: 'false', class: 'code' });
  text.value = JSON.stringify(loaded.data, null, 2);
  const message = h('p', { id: `${id}-message`, role: 'status', 'aria-live': 'polite' });
  const form = h('form', { 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title),
    h('label', {}, `${title} (JSON)`, text),
    message,
    h('button', { type: 'submit' }, `Save ${title.toLowerCase()}`));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    message.className = 'error';
    let doc;
    try { doc = JSON.parse(text.value); } catch (err) { message.textContent = `This is not valid JSON: ${err.message}`; return; }
    form.querySelector('button').disabled = true;
    try {
      const saved = await api('PUT', path, { auth: true, body: doc, etag: true, headers: { 'if-match': etag } });
      etag = saved.etag;
      text.value = JSON.stringify(saved.data, null, 2);
      message.className = '';
      message.textContent = 'Saved. New orders and quotes use it now; placed orders keep their figures.';
    } catch (err) {
      message.textContent = err.status === 412
        ? 'Another admin saved a change after you opened this page. Reload to see it, then make yours again.'
        : `${explain(err)}${err.field ? ` (${err.field})` : ''}`;
    }
    form.querySelector('button').disabled = false;
  });
  return form;
}

async function adminSettings(_params, _id, show) {
  const [shipping, tax] = await Promise.all([
    api('GET', '/shipping', { auth: true, etag: true }),
    api('GET', '/tax', { auth: true, etag: true }),
  ]);
  show(h('h1', {}, 'Manage the shop'), adminTabs('settings'),
    h('p', { class: 'muted' }, 'Amounts are in cents and tax rates in basis points (725 is 7.25%).'),
    settingsForm('/shipping', 'Shipping rates', shipping),
    settingsForm('/tax', 'Tax rates', tax));
}

/** `day` (YYYY-MM-DD) moved by `n` days. */
function shiftDay(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

const SALES_FIGURES = [
  ['net_cents', 'Net sales', true], ['gross_cents', 'Gross sales', true], ['refunded_cents', 'Refunded', true],
  ['paid', 'Orders paid'], ['placed', 'Orders placed'], ['units', 'Units sold'], ['new_customers', 'New customers'],
];

/** Saves the orders of `from`..`to` as one CSV file, following the export's pages. */
async function downloadOrders(from, to) {
  let path = `/admin/orders/export?from=${from}&to=${to}`;
  const parts = [];
  for (;;) {
    const page = await api('GET', path, { auth: true, raw: true });
    parts.push(page.text);
    const next = page.link?.match(/<\?([^>]*)>;\s*rel="next"/);
    if (!next) break;
    path = `/admin/orders/export?${next[1]}`;
  }
  const url = URL.createObjectURL(new Blob(parts, { type: 'text/csv' }));
  const link = h('a', { href: url, download: `orders-${from}-to-${to}.csv`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The owner's dashboard: the figures of a range of days (the shop's days), a bar per day of net
 *  sales (the table below it carries the same numbers for screen readers), the best sellers and
 *  what is running out. */
async function adminSales(params, _id, show) {
  const query = new URLSearchParams();
  for (const k of ['from', 'to']) if (params.get(k)) query.set(k, params.get(k));
  const [s, low] = await Promise.all([
    api('GET', `/admin/stats${query.size ? `?${query}` : ''}`, { auth: true }),
    api('GET', '/admin/low-stock', { auth: true }),
  ]);
  const value = (f, key, isMoney) => (isMoney ? money(f[key]) : String(f[key]));
  const ranges = [7, 30, 90, 365].map((n) => {
    const from = shiftDay(s.to, 1 - n);
    const current = from === s.from;
    return h('a', { class: `button ${current ? '' : 'secondary'}`, href: `/admin/sales?from=${from}&to=${s.to}`, ...(current && { 'aria-current': 'true' }) }, `${n} days`);
  });
  const top = Math.max(1, ...s.days.map((d) => d.net_cents));
  const chart = h('div', { class: 'bars', 'aria-hidden': 'true' }, s.days.map((d) =>
    h('span', { style: `height:${Math.max(0, Math.round((100 * d.net_cents) / top))}%`, title: `${d.date}: ${money(d.net_cents)}` })));
  show(h('h1', {}, 'Manage the shop'), adminTabs('sales'),
    h('nav', { class: 'tabs', 'aria-label': 'Range' }, ranges),
    h('h2', { id: 'sales-range' }, `${s.from} to ${s.to}`),
    h('p', {}, h('button', {
      class: 'secondary', id: 'export-orders', type: 'button',
      onclick: async (e) => {
        e.target.disabled = true;
        try { await downloadOrders(s.from, s.to); } catch (err) { toast(explain(err)); }
        e.target.disabled = false;
      },
    }, 'Download these orders (CSV)')),
    h('dl', { class: 'stats', id: 'sales-totals' }, SALES_FIGURES.map(([key, label, isMoney]) =>
      h('div', { 'data-figure': key }, h('dt', {}, label), h('dd', {}, value(s.totals, key, isMoney))))),
    chart,
    h('h2', {}, 'Best sellers'),
    s.top_products.length
      ? h('table', { id: 'top-products' }, h('thead', {}, h('tr', {}, h('th', {}, 'Product'), h('th', { class: 'num' }, 'Units'), h('th', { class: 'num' }, 'Revenue'))),
        h('tbody', {}, s.top_products.map((p) => h('tr', {}, h('td', {}, p.name), h('td', { class: 'num' }, String(p.units)), h('td', { class: 'num' }, money(p.revenue_cents))))))
      : h('p', { class: 'empty' }, 'Nothing sold in these days.'),
    h('h2', {}, `Running low (${low.threshold} or fewer left)`),
    low.items.length
      ? h('table', { id: 'low-stock' }, h('thead', {}, h('tr', {}, h('th', {}, 'Product'), h('th', { class: 'num' }, 'In stock'))),
        h('tbody', {}, low.items.map((p) => h('tr', {}, h('td', {}, h('a', { href: `/admin/products/${p.id}` }, p.name)), h('td', { class: 'num' }, String(p.stock))))))
      : h('p', { class: 'empty' }, 'Every product is well stocked.'),
    h('h2', {}, 'By day'),
    h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Sales by day' }, h('table', { id: 'sales-days' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Day'), SALES_FIGURES.map(([, label]) => h('th', { class: 'num' }, label)))),
      h('tbody', {}, [...s.days].reverse().map((d) => h('tr', {}, h('td', {}, d.date), SALES_FIGURES.map(([key, , isMoney]) => h('td', { class: 'num' }, value(d, key, isMoney)))))))));
}

/** The customers: a search by the start of the email, a page at a time. */
async function adminCustomers(params, _id, show) {
  const q = params.get('q') || '';
  const body = h('tbody');
  const row = (c) => h('tr', { 'data-customer': c.id },
    h('td', {}, h('a', { href: `/admin/customers/${c.id}` }, c.email)),
    h('td', {}, c.name),
    h('td', {}, c.disabled ? h('span', { class: 'status CANCELLED' }, 'Disabled') : c.role === 'admin' ? 'Admin' : c.email_verified ? 'Verified' : 'Not verified'),
    h('td', { class: 'num' }, c.created_at.slice(0, 10)));
  const list = pager(
    (cursor) => api('GET', `/admin/customers?limit=20&q=${encodeURIComponent(q)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { auth: true }),
    (items) => body.append(...items.map(row)),
  );
  const first = await list.first();
  const input = h('input', { type: 'search', name: 'q', id: 'customer-search', value: q, autocomplete: 'off' });
  const search = h('form', { class: 'actions', role: 'search', 'aria-label': 'Customers', onsubmit: (e) => { e.preventDefault(); go(`/admin/customers?q=${encodeURIComponent(input.value.trim())}`); } },
    h('label', {}, 'Email starts with', input), h('button', { type: 'submit' }, 'Find'));
  show(h('h1', {}, 'Manage the shop'), adminTabs('customers'), search,
    first.items.length
      ? h('table', { id: 'customers' }, h('thead', {}, h('tr', {}, h('th', {}, 'Email'), h('th', {}, 'Name'), h('th', {}, 'Account'), h('th', { class: 'num' }, 'Since'))), body)
      : h('p', { class: 'empty' }, 'No account matches.'),
    list.more);
}

/** One customer: the account, its open sessions, its latest orders, and disabling it. */
async function adminCustomer(_params, id, show) {
  const c = await api('GET', `/admin/customers/${encodeURIComponent(id)}`, { auth: true });
  const toggle = h('button', {
    id: 'customer-disable', type: 'button', class: c.disabled ? '' : 'danger',
    onclick: async () => {
      toggle.disabled = true;
      try {
        await api('PUT', `/admin/customers/${encodeURIComponent(id)}`, { auth: true, body: { disabled: !c.disabled } });
        toast(c.disabled ? 'Account enabled' : 'Account disabled; its sessions ended');
        render();
      } catch (err) {
        toast(explain(err));
        toggle.disabled = false;
      }
    },
  }, c.disabled ? 'Enable account' : 'Disable account');
  const fact = (label, value) => h('div', {}, h('dt', {}, label), h('dd', {}, value));
  show(h('h1', {}, c.name), adminTabs('customers'),
    h('dl', { class: 'stats', id: 'customer-facts' },
      fact('Email', c.email), fact('Account', c.disabled ? 'Disabled' : c.email_verified ? 'Verified' : 'Not verified'),
      fact('Two-factor', c.mfa_enabled ? 'On' : 'Off'), fact('Signed in on', `${c.sessions} device${c.sessions === 1 ? '' : 's'}`),
      fact('Customer since', c.created_at.slice(0, 10))),
    c.address ? h('section', { class: 'panel' }, h('h2', {}, 'Address'), addressBlock(c.address)) : '',
    c.role === 'customer' ? h('p', {}, toggle) : h('p', { class: 'muted' }, 'An admin account: it is not disabled here.'),
    h('h2', {}, 'Latest orders'),
    c.orders.items.length ? h('div', { id: 'customer-orders' }, c.orders.items.map((o) => orderCard(o))) : h('p', { class: 'empty' }, 'No orders yet.'));
}

/** What a code takes off, as the owner reads it. */
function discountOf(p) {
  return p.kind === 'percent' ? `${p.value}% off` : `${money(p.value)} off`;
}

/** Whether a code can be used now, and until when. */
function periodOf(p) {
  const now = new Date().toISOString();
  if (p.ends_at && p.ends_at <= now) return h('span', { class: 'status CANCELLED' }, 'Ended');
  if (p.starts_at && p.starts_at > now) return `From ${p.starts_at.slice(0, 10)}`;
  return p.ends_at ? `Until ${p.ends_at.slice(0, 16).replace('T', ' ')} UTC` : 'Running';
}

/** The discount codes, A to Z a page at a time: each with its uses against its limit and a way to
 *  end it, and a form for a new one. The limits are the API's to enforce; this page only shows them. */
async function adminPromotions(_params, _id, show) {
  const end = (p) => h('button', {
    type: 'button', class: 'secondary', 'data-end': p.code,
    onclick: async (e) => {
      e.target.disabled = true;
      try {
        await api('PUT', `/admin/promotions/${encodeURIComponent(p.code)}`, { auth: true, body: { ends_at: new Date().toISOString() } });
        toast(`${p.code} has ended`);
        render();
      } catch (err) {
        toast(explain(err));
        e.target.disabled = false;
      }
    },
  }, 'End now');
  const ended = (p) => p.ends_at && p.ends_at <= new Date().toISOString();
  const row = (p) => h('tr', { 'data-promotion': p.code },
    h('th', { scope: 'row' }, h('code', {}, p.code)),
    h('td', {}, discountOf(p), p.categories?.length ? ` (${p.categories.join(', ')})` : '', p.min_subtotal_cents ? `, from ${money(p.min_subtotal_cents)}` : ''),
    h('td', { class: 'num', 'data-uses': p.code }, `${p.redeemed}${p.max_redemptions ? ` / ${p.max_redemptions}` : ''}`),
    h('td', {}, p.max_per_customer ? `${p.max_per_customer} per customer` : 'Any'),
    h('td', {}, periodOf(p)),
    h('td', {}, ended(p) ? '' : end(p)));
  const body = h('tbody');
  const list = pager(
    (cursor) => api('GET', `/admin/promotions?limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { auth: true }),
    (items) => body.append(...items.map(row)),
  );
  const first = await list.first();
  const field = (label, name, attrs = {}) => h('label', {}, label, h('input', { name, id: `promo-${name}`, ...attrs }));
  const message = h('p', { id: 'promotion-message', class: 'form-message', 'aria-live': 'polite' });
  const form = h('form', { class: 'form wide panel', id: 'promotion-form', 'aria-labelledby': 'new-promotion' },
    h('h2', { id: 'new-promotion', class: 'full' }, 'New discount code'),
    field('Code', 'code', { required: true, maxlength: '32', pattern: '[A-Za-z0-9_\\-]{3,32}', autocomplete: 'off' }),
    h('label', {}, 'Kind', h('select', { name: 'kind', id: 'promo-kind' }, h('option', { value: 'percent' }, 'Percent off'), h('option', { value: 'fixed' }, 'Amount off'))),
    field('Percent or amount', 'value', { required: true, inputmode: 'decimal' }),
    field('Minimum subtotal (optional)', 'min_subtotal', { inputmode: 'decimal' }),
    field('Uses in all (optional)', 'max_redemptions', { type: 'number', min: '1' }),
    field('Uses per customer (optional)', 'max_per_customer', { type: 'number', min: '1' }),
    field('Categories (optional, comma-separated)', 'categories', { autocomplete: 'off' }),
    field('Last day (optional, UTC)', 'last_day', { type: 'date' }),
    h('div', { class: 'full' }, h('button', { type: 'submit', id: 'create-promotion' }, 'Create code')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(form));
    const cents = (text) => (text.trim() ? parseCents(text) : undefined);
    const body = { code: f.code.trim(), kind: f.kind };
    body.value = f.kind === 'percent' ? Number(f.value) : cents(f.value);
    if (f.min_subtotal.trim()) body.min_subtotal_cents = cents(f.min_subtotal);
    for (const k of ['max_redemptions', 'max_per_customer']) if (f[k]) body[k] = Number(f[k]);
    const categories = f.categories.split(',').map((c) => c.trim()).filter(Boolean);
    if (categories.length) body.categories = categories;
    if (f.last_day) body.ends_at = `${shiftDay(f.last_day, 1)}T00:00:00Z`;
    message.className = 'form-message error';
    if (body.value == null || Number.isNaN(body.value)) {
      message.textContent = 'Enter a percent from 1 to 100, or an amount such as 5.00.';
      return;
    }
    try {
      await api('POST', '/admin/promotions', { auth: true, body });
      toast(`${body.code.toUpperCase()} created`);
      render();
    } catch (err) {
      message.textContent = `${explain(err)}${err.field ? ` (${err.field})` : ''}`;
    }
  });
  show(h('h1', {}, 'Manage the shop'), adminTabs('promotions'),
    first.items.length
      ? h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Discount codes' }, h('table', { id: 'promotions' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Code'), h('th', {}, 'Discount'), h('th', { class: 'num' }, 'Used'), h('th', {}, 'Limit'), h('th', {}, 'When'), h('th', {}, h('span', { class: 'visually-hidden' }, 'Actions')))),
        body))
      : h('p', { class: 'empty' }, 'No discount codes yet.'),
    list.more, form, message);
}

/** What each kind of audit entry says, and where its target is shown. */
const AUDITED = {
  product_created: ['Created product', (t) => `/admin/products/${t}`],
  product_updated: ['Changed product', (t) => `/admin/products/${t}`],
  product_image_set: ['New image for product', (t) => `/admin/products/${t}`],
  product_deleted: ['Deleted product', null],
  order_status_changed: ['Moved order', (t) => `/orders/${t}`],
  shipping_rates_changed: ['Changed the shipping rates', () => '/admin/settings'],
  tax_rates_changed: ['Changed the tax rates', () => '/admin/settings'],
  customer_disabled: ['Disabled customer', (t) => `/admin/customers/${t}`],
  customer_enabled: ['Enabled customer', (t) => `/admin/customers/${t}`],
  promotion_created: ['Created discount code', () => '/admin/promotions'],
  promotion_changed: ['Changed discount code', () => '/admin/promotions'],
};

/** A recorded value as the owner reads it: money in cents as money, anything nested as short JSON. */
function auditValue(field, v) {
  if (v === undefined) return h('span', { class: 'muted' }, 'none');
  if (typeof v === 'number' && field.endsWith('_cents')) return money(v);
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 80 ? h('span', { title: text }, `${text.slice(0, 79)}…`) : text;
}

/** The audit trail: every admin change, newest first, with who made it and each field before and
 *  after. Read only: the API has no way to change it. */
async function adminAudit(_params, _id, show) {
  const body = h('tbody');
  const row = (e) => {
    const [what, link] = AUDITED[e.action] || [e.action, null];
    const target = e.target.length > 12 ? e.target.slice(-8) : e.target;
    return h('tr', { 'data-audit': e.action },
      h('td', {}, h('time', { datetime: e.at }, `${e.at.slice(0, 16).replace('T', ' ')} UTC`)),
      h('td', {}, e.actor_email || e.actor),
      h('td', {}, `${what} `, link ? h('a', { href: link(e.target) }, target) : h('code', {}, target)),
      h('td', {}, e.changes.length
        ? h('ul', { class: 'changes' }, e.changes.map((c) => h('li', { 'data-field': c.field },
          h('strong', {}, c.field.replace(/_/g, ' ')), ': ', auditValue(c.field, c.before), ' → ', auditValue(c.field, c.after))))
        : h('span', { class: 'muted' }, 'Nothing changed')));
  };
  const list = pager(
    (cursor) => api('GET', `/admin/audit?limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { auth: true }),
    (items) => body.append(...items.map(row)),
  );
  const first = await list.first();
  show(h('h1', {}, 'Manage the shop'), adminTabs('audit'),
    first.items.length
      ? h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Activity' }, h('table', { id: 'audit' },
        h('thead', {}, h('tr', {}, h('th', {}, 'When'), h('th', {}, 'Who'), h('th', {}, 'What'), h('th', {}, 'Changes'))), body))
      : h('p', { class: 'empty' }, 'No changes recorded yet.'),
    list.more);
}

export const adminRoutes = [
  [/^\/admin\/audit$/, adminAudit, 'admin', 'admin'],
  [/^\/admin\/promotions$/, adminPromotions, 'admin', 'admin'],
  [/^\/admin\/customers$/, adminCustomers, 'admin', 'admin'],
  [/^\/admin\/customers\/([\w-]+)$/, adminCustomer, 'admin', 'admin'],
  [/^\/admin\/sales$/, adminSales, 'admin', 'admin'],
  [/^\/admin\/settings$/, adminSettings, 'admin', 'admin'],
  [/^\/admin\/products$/, adminProducts, 'admin', 'admin'],
  [/^\/admin\/products\/new$/, adminProductForm, 'admin', 'admin'],
  [/^\/admin\/products\/([\w-]+)$/, adminProductForm, 'admin', 'admin'],
  [/^\/admin\/orders$/, adminOrders, 'admin', 'admin'],
  [/^\/admin\/orders\/([\w-]+)\/slip$/, packingSlip, 'admin', 'admin'],
];
