// Checkout: cart -> address (prefilled from the profile) -> shipping method with prices -> a
// discount code -> review (subtotal, discount, shipping, tax lines, total, all from POST
// /checkout/quote) -> place order -> pay on the
// order page. The quote and the order are priced by the same function on the API, so what the
// review shows is what the order charges.

import { api } from './api.js';
import * as cart from './cart.js';
import { go } from './router.js';
import { addressBlock, explain, figures, h, money, toast } from './ui.js';

let countries = null;

/** Where the shop ships, for the country field (GET /shipping/countries, cached by the API). */
async function loadCountries() {
  countries ??= api('GET', '/shipping/countries').then((r) => r.countries).catch((e) => { countries = null; throw e; });
  return countries;
}

/** The address form's fields as the API's `shipping_address` (empty optional parts left out). */
function addressOf(form) {
  const f = Object.fromEntries(new FormData(form));
  const a = { name: f.name, line1: f.line1, city: f.city, postal_code: f.postal_code, country: f.country };
  for (const k of ['line2', 'region', 'phone']) if (f[k]?.trim()) a[k] = f[k].trim();
  return a;
}

function input(label, name, value, attrs = {}) {
  return h('label', { class: attrs.full ? 'full' : '' }, label,
    h('input', { name, id: `ship-${name}`, value: value || '', ...attrs.input }));
}

async function checkoutPage(_params, _id, show) {
  const [view, me, shipsTo] = await Promise.all([cart.getCart(), api('GET', '/users/me', { auth: true }), loadCountries()]);
  if (!view.items.length) {
    return show(h('h1', {}, 'Checkout'), h('div', { class: 'empty' }, 'Your cart is empty. ', h('a', { href: '/' }, 'Browse the shop')));
  }
  const saved = me.address || {};
  const known = shipsTo.some((c) => c.code === saved.country);
  const country = h('select', { name: 'country', id: 'ship-country', required: true, autocomplete: 'country' },
    h('option', { value: '' }, 'Choose a country'),
    shipsTo.map((c) => h('option', { value: c.code, selected: c.code === saved.country }, c.name)),
    // A saved country the shop does not ship to stays visible, so the refusal can say so.
    saved.country && !known ? h('option', { value: saved.country, selected: true }, saved.country) : '');
  const remember = h('input', { type: 'checkbox', name: 'remember', id: 'ship-remember', checked: !me.address });
  const message = h('p', { id: 'checkout-message', class: 'form-message', 'aria-live': 'polite' });
  const form = h('form', { class: 'form wide panel', id: 'address-form', 'aria-labelledby': 'address-title' },
    input('Full name', 'name', me.name, { full: true, input: { required: true, maxlength: '200', autocomplete: 'shipping name' } }),
    input('Address', 'line1', saved.line1, { full: true, input: { required: true, maxlength: '200', autocomplete: 'shipping address-line1', placeholder: 'Street and number' } }),
    input('Address line 2 (optional)', 'line2', saved.line2, { full: true, input: { maxlength: '200', autocomplete: 'shipping address-line2' } }),
    input('City', 'city', saved.city, { input: { required: true, maxlength: '200', autocomplete: 'shipping address-level2' } }),
    input('State, province or region', 'region', saved.region, { input: { maxlength: '200', autocomplete: 'shipping address-level1' } }),
    input('Postal code', 'postal_code', saved.postal_code, { input: { required: true, maxlength: '16', autocomplete: 'shipping postal-code' } }),
    h('label', {}, 'Country', country),
    input('Phone (optional, for the carrier)', 'phone', '', { input: { type: 'tel', maxlength: '30', autocomplete: 'shipping tel' } }),
    h('label', { class: 'full check' }, remember, 'Save this address to my profile'),
    h('div', { class: 'full' }, h('button', { type: 'submit', id: 'to-shipping' }, 'Continue to shipping')));
  const methods = h('div');
  const review = h('div');
  let address = null;
  let method = null;
  let promo = null;
  const promoInput = h('input', { name: 'promo_code', id: 'promo-code', maxlength: '32', autocomplete: 'off', spellcheck: 'false' });
  const promoMessage = h('p', { id: 'promo-message', class: 'form-message', 'aria-live': 'polite' });
  // Outside the redrawn parts, so focus and what was typed stay put while the quote changes.
  const promoBox = h('form', { class: 'panel promo', id: 'promo-form', hidden: true, 'aria-labelledby': 'promo-title' },
    h('h2', { id: 'promo-title' }, 'Discount code'),
    h('div', { class: 'inline' }, h('label', { for: 'promo-code', class: 'visually-hidden' }, 'Discount code'), promoInput,
      h('button', { type: 'submit', class: 'secondary', id: 'apply-promo' }, 'Apply')),
    promoMessage);
  const quoted = h('div', { id: 'quote' }, methods, promoBox, review);
  /** What the quote and the order are asked for: the same body, so they agree. */
  const body = () => ({ shipping_address: address, ...(method && { shipping_method: method }), ...(promo && { promo_code: promo }) });

  const fail = (err) => {
    message.className = 'form-message error';
    message.textContent = explain(err);
    const bad = err.field && form.querySelector(`[name="${err.field.split('.').pop()}"]`);
    if (bad) bad.focus();
  };

  /** Prices the cart to `address` by `method` (the cheapest when null) and draws the choices. */
  const requote = async () => {
    message.textContent = '';
    const q = await api('POST', '/checkout/quote', { auth: true, body: body() });
    method = q.shipping_method.id;
    promoBox.hidden = false;
    const options = h('fieldset', { class: 'panel methods', id: 'shipping-methods' }, h('legend', {}, '2. Shipping method'),
      q.shipping_options.map((o) => h('label', { class: 'method' },
        h('input', { type: 'radio', name: 'method', value: o.id, checked: o.id === method, onchange: () => { method = o.id; requote().catch(fail); } }),
        h('span', {}, o.name), h('span', { class: 'price' }, o.price_cents ? money(o.price_cents, q.currency) : 'Free'))));
    const place = h('button', { id: 'place-order', onclick: () => placeOrder(place, remember.checked) }, `Place order · ${money(q.total_cents, q.currency)}`);
    methods.replaceChildren(options);
    review.replaceChildren(
      h('section', { class: 'panel review', 'aria-labelledby': 'review-title' },
        h('h2', { id: 'review-title' }, '3. Review'),
        h('div', { class: 'review-grid' },
          h('div', {}, h('h3', {}, 'Shipping to'), addressBlock(address)),
          h('div', {},
            h('ul', { class: 'lines' }, q.lines.map((l) => h('li', {}, `${l.quantity} × ${l.name}`, h('span', { class: 'num' }, money(l.line_total_cents, q.currency))))),
            figures(q))),
        h('div', { class: 'actions', style: 'justify-content:flex-end' }, place)));
  };

  /** Places the order; the Idempotency-Key is kept until the attempt is settled, so a retry after
   *  a network error can never order twice. */
  const placeOrder = async (button, rememberIt) => {
    button.disabled = true;
    let key = sessionStorage.getItem('checkout-key');
    if (!key) {
      key = crypto.randomUUID();
      sessionStorage.setItem('checkout-key', key);
    }
    try {
      const order = await api('POST', '/orders', { auth: true, body: body(), headers: { 'idempotency-key': key } });
      sessionStorage.removeItem('checkout-key');
      if (rememberIt) {
        const { name: _n, phone: _p, ...profile } = address;
        await api('PUT', '/users/me', { auth: true, body: { address: profile } }).catch(() => toast('The address could not be saved to your profile.'));
      }
      cart.forgetCount();
      toast('Thank you! Your order is placed.');
      go(`/orders/${order.id}`);
    } catch (err) {
      if (!err.offline) sessionStorage.removeItem('checkout-key');
      button.disabled = false;
      if (err.code === 'insufficient_stock') {
        message.className = 'form-message error';
        message.textContent = `Sorry, ${err.message.replace(/^not enough stock: /, '')}. Please adjust your cart.`;
      } else {
        fail(err);
      }
    }
  };

  promoBox.addEventListener('submit', async (e) => {
    e.preventDefault();
    const before = promo;
    promo = promoInput.value.trim() || null;
    try {
      await requote();
      promoMessage.className = 'form-message';
      promoMessage.textContent = promo ? `${promo.toUpperCase()} is applied.` : '';
    } catch (err) {
      promo = before;
      promoMessage.className = 'form-message error';
      promoMessage.textContent = explain(err);
      promoInput.focus();
    }
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    address = addressOf(form);
    method = null;
    methods.replaceChildren();
    review.replaceChildren();
    promoBox.hidden = true;
    try {
      await requote();
    } catch (err) {
      fail(err);
    } finally {
      button.disabled = false;
    }
  });

  show(h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '/cart' }, 'Your cart'), ' / Checkout'),
    h('h1', {}, 'Checkout'),
    h('h2', { id: 'address-title' }, '1. Shipping address'),
    form, message, quoted);
}

export const checkoutRoutes = [
  [/^\/checkout$/, checkoutPage, 'cart', 'user'],
];

