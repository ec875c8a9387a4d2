// Small DOM helpers. Text always goes in as text nodes, so catalog data can never become markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    // Through the CSSOM, which a Content-Security-Policy without 'unsafe-inline' still allows.
    else if (k === 'style') el.style.cssText = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const formatters = new Map();
/** Integer cents to a localized price, e.g. 1490 USD -> "$14.90". Never goes through floats for maths. */
export function money(cents, currency = 'USD') {
  if (!formatters.has(currency)) {
    formatters.set(currency, new Intl.NumberFormat(undefined, { style: 'currency', currency }));
  }
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return formatters.get(currency).format(Number(`${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`));
}

/** "12.5" or "12,50" -> 1250 cents, exactly; null when not a price. */
export function parseCents(text) {
  const m = String(text).trim().replace(',', '.').match(/^(\d{1,7})(?:\.(\d{1,2}))?$/);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] || '0').padEnd(2, '0'));
}

export function centsToInput(cents) {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

export function date(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, text);
}

let toastTimer;
export function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), 2600);
}

/** The page-wide banner: outages, rate limits. `retry` adds a button. */
export function banner(text, { kind = 'error', retry } = {}) {
  const el = document.getElementById('banner');
  el.replaceChildren(h('span', {}, text));
  el.dataset.kind = kind;
  if (retry) el.append(h('button', { class: 'secondary', onclick: () => { hideBanner(); retry(); } }, 'Try again'));
  el.hidden = false;
}

export function hideBanner() {
  document.getElementById('banner').hidden = true;
}

/** A human sentence for an API error, for inline messages. */
export function explain(err) {
  if (err.status === 429) {
    return `Too many attempts. Please wait ${err.retryAfter ? Math.ceil(err.retryAfter / 60) + ' minute(s)' : 'a moment'} and try again.`;
  }
  if (err.offline) return 'We cannot reach the shop right now. Please try again in a moment.';
  if (err.code === 'mfa_enrollment_required') return 'The back office needs two-factor sign-in: set it up on your account page first.';
  return err.message;
}

/** A deterministic pair of warm colours for a product without a photo. */
export function placeholder(name) {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  const hue = 15 + (hash % 40);
  const el = h('div', { class: 'thumb', role: 'img', 'aria-label': name }, name.trim().charAt(0).toUpperCase());
  el.style.setProperty('--c1', `hsl(${hue} 45% 32%)`);
  el.style.setProperty('--c2', `hsl(${hue + 20} 60% 62%)`);
  return el;
}

/** A product's picture: every width resize-image made in `srcset`, `sizes` the box's width on the
 *  page, its own size as width/height (so the box is reserved before a byte arrives), lazy unless
 *  `eager` (above the fold). A product with only an `image_url` gets it at the 4:3 of the box. */
export function productImage(p, { sizes = '(max-width: 640px) 50vw, 240px', eager = false } = {}) {
  const loading = eager ? 'eager' : 'lazy';
  const pic = p.picture;
  if (pic && pic.sources?.length) {
    return h('img', {
      class: 'thumb', src: p.image_url || pic.sources[0].url, alt: p.name, loading, decoding: 'async',
      srcset: pic.sources.map((s) => `${s.url} ${s.width}w`).join(', '), sizes,
      width: String(pic.width), height: String(pic.height),
    });
  }
  return p.image_url ? h('img', { class: 'thumb', src: p.image_url, alt: p.name, loading, width: '640', height: '480' }) : placeholder(p.name);
}

export function stockLabel(stock) {
  if (stock <= 0) return h('span', { class: 'stock out' }, 'Sold out');
  if (stock <= 5) return h('span', { class: 'stock low' }, `Only ${stock} left`);
  return h('span', { class: 'stock' }, 'In stock');
}

export function statusBadge(status) {
  return h('span', { class: `status ${status}` }, status.charAt(0) + status.slice(1).toLowerCase());
}

export function pretty(category) {
  return category.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

/** Where the money is (`unpaid`, `paid`, `refunded`), in words that add to the status badge. */
export function paymentBadge(payment, status) {
  const text = payment === 'paid' ? 'Payment received'
    : payment === 'refunded' ? 'Refunded'
      : status === 'PENDING' ? 'Awaiting payment' : 'Not paid';
  return h('span', { class: `payment ${payment}`, 'data-payment': payment }, text);
}

/** Basis points as a percentage: 725 -> "7.25%". */
export function percent(bp) {
  return `${(bp / 100).toFixed(2).replace(/\.?0+$/, '')}%`;
}

/** An address as a label shows it, one line per part. */
export function addressBlock(a) {
  const region = a.region ? ` ${a.region}` : '';
  return h('address', { class: 'ship-to' }, [a.name, a.line1, a.line2, `${a.city}${region} ${a.postal_code}`, a.country_name || a.country, a.phone]
    .filter(Boolean).flatMap((line, i) => (i ? [h('br'), line] : [line])));
}

/** Subtotal, any discount, shipping, each tax line and the total of a quote or an order, as table rows. */
export function figures(o) {
  const row = (label, cents, attrs = {}) => h('tr', attrs, h('th', { scope: 'row' }, label), h('td', { class: 'num' }, money(cents, o.currency)));
  return h('table', { class: 'figures' }, h('tbody', {},
    row('Subtotal', o.subtotal_cents, { 'data-figure': 'subtotal' }),
    o.discount_cents ? row(`Discount: ${o.promo_code}`, -o.discount_cents, { 'data-figure': 'discount' }) : '',
    row(`Shipping: ${o.shipping_method.name}`, o.shipping_cents, { 'data-figure': 'shipping' }),
    o.tax_lines.map((t) => row(`${t.name} (${percent(t.rate_bp)}${o.prices_include_tax ? ', included' : ''})`, t.amount_cents, { 'data-figure': 'tax' })),
    o.tax_lines.length ? '' : row(o.prices_include_tax ? 'Tax included' : 'Tax', 0, { 'data-figure': 'tax' }),
    row('Total', o.total_cents, { 'data-figure': 'total', class: 'total' })));
}

/** The parcel of a shipped order: carrier, number and the link to follow it. */
export function trackingLine(o) {
  if (!o.shipment) return '';
  const s = o.shipment;
  return h('p', { class: 'tracking' }, `Shipped ${date(s.shipped_at)} · ${CARRIERS[s.carrier] || s.carrier} `,
    h('a', { href: s.tracking_url, rel: 'noopener noreferrer', target: '_blank', 'data-tracking': s.tracking_number }, `Track ${s.tracking_number}`));
}

/** The carriers the API knows, by id. */
export const CARRIERS = { ups: 'UPS', usps: 'USPS', fedex: 'FedEx', dhl: 'DHL', 'royal-mail': 'Royal Mail', postnl: 'PostNL', other: 'Other carrier' };

/** An order's card; `actions` are buttons for its footer. */
export function orderCard(o, actions = []) {
  return h('article', { class: 'panel order', 'data-order': o.id },
    h('header', {},
      h('div', {}, h('strong', {}, h('a', { href: `/orders/${o.id}` }, `Order ${o.id.slice(-8)}`)), ' ', h('span', { class: 'muted' }, date(o.created_at))),
      h('div', { class: 'actions' }, paymentBadge(o.payment_status || 'unpaid', o.status), statusBadge(o.status))),
    h('ul', {}, o.items.map((l) => h('li', {}, `${l.quantity} × ${l.name} — ${money(l.unit_price_cents * l.quantity, o.currency)}`))),
    h('div', { class: 'actions', style: 'justify-content:space-between;margin-top:10px' },
      h('span', { class: 'price' }, `Total ${money(o.total_cents, o.currency)}`),
      h('div', { class: 'actions' }, actions)));
}

/** A list read page by page behind the API's cursor. `load(cursor)` fetches one page (`cursor` is
 *  null for the first); `append(items)` draws its items. `more` holds the button for the next page,
 *  which shows its progress and, when a page fails, offers to try again. */
export function pager(load, append, label = 'Load more') {
  const more = h('div', { class: 'center' });
  let cursor = null;
  const next = async () => {
    const page = await load(cursor);
    append(page.items);
    cursor = page.next_cursor;
    more.replaceChildren(cursor ? h('button', { class: 'secondary', onclick: onMore }, label) : '');
    return page;
  };
  const onMore = async (e) => {
    const button = e.currentTarget;
    button.disabled = true;
    button.textContent = 'Loading…';
    try {
      await next();
    } catch (err) {
      button.disabled = false;
      button.textContent = label;
      banner(explain(err), { retry: () => button.click() });
    }
  };
  return { more, first: next };
}
