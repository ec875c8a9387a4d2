// Paying for an order by card: Stripe Elements from the Stripe.js named in config.json (Stripe's
// own on AWS, localstripe's locally), the payment call, 3-D Secure, and waiting for the webhook
// that alone marks the order paid.

import { api, ApiError, loadConfig } from './api.js';
import { h } from './ui.js';

let stripeReady = null;

/** Stripe.js, loaded once (CSP allows scripts only from the site and the Stripe.js origin). */
function loadStripe() {
  stripeReady ??= loadConfig().then((config) => new Promise((resolve, reject) => {
    if (!config.stripePublishableKey) { reject(new Error('Card payments are not set up for this shop yet.')); return; }
    const script = h('script', { src: config.stripeJsUrl });
    script.addEventListener('load', () => resolve(window.Stripe(config.stripePublishableKey)));
    script.addEventListener('error', () => { stripeReady = null; reject(new Error('The card form could not be loaded. Try again.')); });
    document.head.append(script);
  }));
  return stripeReady;
}

/** The one place the local fake differs: Stripe.js makes a PaymentMethod (`pm_...`);
 *  localstripe's createPaymentMethod is a stub, so its token's card (`card_...`) stands in. */
async function paymentMethod(stripe, card) {
  const made = await stripe.createPaymentMethod?.({ type: 'card', card });
  if (made?.paymentMethod) return made.paymentMethod.id;
  if (made?.error) throw new Error(made.error.message);
  const { token, error } = await stripe.createToken(card);
  if (error) throw new Error(error.message || 'Check the card details.');
  return token.card.id;
}

/** Polls the order until the webhook has marked it paid (or `tries` run out). */
async function waitUntilPaid(id, tries = 40) {
  for (let i = 0; i < tries; i += 1) {
    const o = await api('GET', `/orders/${encodeURIComponent(id)}`, { auth: true });
    if (o.payment_status === 'paid') return o;
    await new Promise((r) => setTimeout(r, 750));
  }
  return null;
}

/** Minutes and seconds until `iso`, for the "reserved for" line. */
export function timeLeft(iso, now = Date.now()) {
  const s = Math.max(0, Math.round((Date.parse(iso) - now) / 1000));
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/** The pay panel of a PENDING order: card field, Pay button, messages, time left. `done()` runs
 *  once the order is paid or has lapsed. */
export function payPanel(o, done) {
  const message = h('p', { class: 'muted', id: 'pay-message', role: 'status' }, o.payment_error ? `Last attempt: ${o.payment_error}` : '');
  const left = h('p', { class: 'muted', id: 'pay-time-left' });
  const field = h('div', { class: 'card-field', id: 'card-field' });
  const button = h('button', { id: 'pay', disabled: true }, 'Pay now');
  const panel = h('section', { class: 'panel pay', 'aria-labelledby': 'pay-title' },
    h('h2', { id: 'pay-title' }, 'Pay by card'), left, field, h('div', { class: 'actions' }, button), message);

  let ticks = 0;
  const tick = () => {
    // The page was left: stop counting.
    if (ticks++ > 0 && !panel.isConnected) { clearInterval(timer); return; }
    if (!o.expires_at) return;
    if (Date.parse(o.expires_at) <= Date.now()) {
      left.textContent = 'The reservation has lapsed: the items went back on the shelf.';
      button.disabled = true;
      clearInterval(timer);
      return;
    }
    left.textContent = `Your items are reserved for ${timeLeft(o.expires_at)}.`;
  };
  const timer = setInterval(tick, 1000);
  tick();

  loadStripe().then((stripe) => {
    const card = stripe.elements().create('card');
    card.mount(field);
    button.disabled = false;
    button.addEventListener('click', async () => {
      button.disabled = true;
      message.textContent = 'Paying…';
      try {
        const pm = await paymentMethod(stripe, card);
        const paid = await api('POST', `/orders/${encodeURIComponent(o.id)}/payment`, { auth: true, body: { payment_method: pm } });
        if (paid.status === 'requires_action') {
          message.textContent = 'Your bank asks you to confirm the payment…';
          const { error } = await stripe.confirmCardPayment(paid.client_secret);
          if (error) throw new Error(error.message || 'The payment was not confirmed.');
        }
        message.textContent = 'Payment received; confirming with the bank…';
        const settled = await waitUntilPaid(o.id);
        message.textContent = settled ? 'Paid. Thank you!' : 'The payment is still being confirmed; this page will show it once it lands.';
        clearInterval(timer);
        done();
      } catch (err) {
        message.textContent = err instanceof ApiError && err.status === 402
          ? `${err.message} Try another card.`
          : (err.message || 'The payment failed. Try again.');
        button.disabled = false;
      }
    });
  }).catch((err) => { message.textContent = err.message; });
  return panel;
}
