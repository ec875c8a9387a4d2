// The cart. Signed-in shoppers' cart lives in the API (PUT /cart replaces it); a guest's lives in
// localStorage and is merged into the API cart at sign-in. Prices always come from the catalog.

import { api, session } from './api.js';

const KEY = 'guest-cart';
const MAX_QTY = 99;

function guestLines() {
  try { return JSON.parse(localStorage.getItem(KEY) || '[]'); } catch { return []; }
}

function announce(view) {
  const count = view.items.reduce((n, l) => n + l.quantity, 0);
  dispatchEvent(new CustomEvent('cart', { detail: { count } }));
  return view;
}

/** A guest cart priced like the API prices one: each product read from the catalog. */
async function priceGuest(lines) {
  const items = [];
  const unavailable = [];
  let currency = 'USD';
  await Promise.all(lines.map(async (l) => {
    try {
      const p = await api('GET', `/products/${encodeURIComponent(l.product_id)}`);
      currency = p.currency;
      items.push({ product_id: p.id, name: p.name, unit_price_cents: p.price_cents, quantity: l.quantity,
        line_total_cents: p.price_cents * l.quantity, stock: p.stock });
    } catch (e) {
      if (e.status === 404) unavailable.push(l.product_id); else throw e;
    }
  }));
  const order = lines.map((l) => l.product_id);
  items.sort((a, b) => order.indexOf(a.product_id) - order.indexOf(b.product_id));
  return { items, unavailable, currency, total_cents: items.reduce((n, l) => n + l.line_total_cents, 0) };
}

export async function getCart() {
  const view = session.token ? await api('GET', '/cart', { auth: true }) : await priceGuest(guestLines());
  return announce(view);
}

async function save(lines) {
  const clean = lines.filter((l) => l.quantity > 0).map((l) => ({ product_id: l.product_id, quantity: Math.min(l.quantity, MAX_QTY) }));
  if (session.token) return announce(await api('PUT', '/cart', { auth: true, body: { items: clean } }));
  localStorage.setItem(KEY, JSON.stringify(clean));
  return announce(await priceGuest(clean));
}

async function currentLines() {
  if (!session.token) return guestLines();
  const view = await api('GET', '/cart', { auth: true });
  return view.items.map((l) => ({ product_id: l.product_id, quantity: l.quantity }));
}

/** Sets one line's quantity; 0 removes it. */
export async function setQuantity(productId, quantity) {
  const lines = await currentLines();
  const line = lines.find((l) => l.product_id === productId);
  if (line) line.quantity = quantity;
  else lines.push({ product_id: productId, quantity });
  return save(lines);
}

export async function add(productId, quantity = 1) {
  const lines = await currentLines();
  const line = lines.find((l) => l.product_id === productId);
  if (line) line.quantity = Math.min(line.quantity + quantity, MAX_QTY);
  else lines.push({ product_id: productId, quantity });
  return save(lines);
}

/** At sign-in: what the guest collected joins what the account already had. */
export async function mergeGuestCart() {
  const guest = guestLines();
  if (!guest.length) return getCart();
  const lines = await currentLines();
  for (const g of guest) {
    const line = lines.find((l) => l.product_id === g.product_id);
    if (line) line.quantity = Math.min(line.quantity + g.quantity, MAX_QTY);
    else lines.push(g);
  }
  localStorage.removeItem(KEY);
  try {
    return await save(lines);
  } catch (e) {
    // A guest line whose product was deleted meanwhile: keep the account's cart as it was.
    if (e.status === 422) return getCart();
    throw e;
  }
}

export function forgetCount() {
  announce({ items: [] });
}
