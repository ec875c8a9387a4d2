// Navigation: the route table, rendering the page the address names, and sending the shopper to sign
// in. The public pages (/, /category/<name>, /products/<slug>) arrive prerendered: the first render
// takes them over instead of drawing them again. Within the app, pages are `#/…` addresses, which
// also keep every old link working. Pages import this module; it imports no page (main.js
// registers them).

import { ApiError, session } from './api.js';
import { banner, explain, h, hideBanner, loading } from './ui.js';

const app = document.getElementById('app');

/** `[pattern, view, nav, needs]`: `view(params, match, show)` draws the page through `show`;
 *  `needs` is 'user' or 'admin' when the page needs a signed-in shopper or an admin. */
const routes = [];
/** `hydrate(app)`: brings a prerendered page to life (main.js registers shop.js's). */
let hydrate = null;

export function addRoutes(list) {
  routes.push(...list);
}

export function setHydrate(fn) {
  hydrate = fn;
}

/** The route the address names: an `#/…` address's, else the path's (`/search?q=` is the catalog). */
function current() {
  if (location.hash.startsWith('#/')) return location.hash.slice(1);
  return (location.pathname === '/search' ? '/' : location.pathname) + location.search;
}

let first = true;

export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

/** Sends the shopper to sign in, remembering where they were. */
export function toLogin(message) {
  const here = location.hash || '#/';
  sessionStorage.setItem('login-message', message || '');
  go(`#/login?next=${encodeURIComponent(here.startsWith('#/login') ? '#/' : here)}`);
}

// Each render has a generation; a view draws only while it is the latest, so a slow response for a
// page the shopper already left can never replace the page they are on.
let generation = 0;

/** Draws the page the hash names. `moved` (a navigation, not the first load or a redraw): the
 *  focus then goes to the new page, so the keyboard continues there and a screen reader reads it. */
export async function render({ moved = false } = {}) {
  const mine = ++generation;
  const show = (...children) => { if (mine === generation) app.replaceChildren(...children); };
  const prerendered = first && app.dataset.page && !location.hash.startsWith('#/');
  first = false;
  if (prerendered && hydrate) return hydrate(app);
  const [path, query] = current().split('?');
  const params = new URLSearchParams(query || '');
  hideBanner();
  for (const [re, view, nav, needs] of routes) {
    const m = path.match(re);
    if (!m) continue;
    document.querySelectorAll('[data-nav]').forEach((a) => a.toggleAttribute('aria-current', a.dataset.nav === nav));
    document.querySelectorAll('[data-nav][aria-current]').forEach((a) => a.setAttribute('aria-current', 'page'));
    if (needs && !session.token) return toLogin('Please sign in to continue.');
    if (needs === 'admin' && !session.isAdmin) {
      return show(h('h1', {}, 'Not available'), h('p', {}, 'This page is for shop administrators.'));
    }
    show(loading());
    try {
      await view(params, m[1], show);
    } catch (err) {
      failed(err, show);
    }
    if (moved && mine === generation && !app.contains(document.activeElement)) app.focus();
    return;
  }
  show(h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '#/' }, 'Back to the shop')));
}

/** The one place a failed request is explained; `show` (when given) replaces the page. */
export function failed(err, show) {
  if (!(err instanceof ApiError)) throw err;
  if (err.status === 401) return toLogin('Your session has ended. Please sign in again.');
  if (err.offline) {
    banner('We cannot reach the shop right now.', { retry: render });
    return show?.(h('div', { class: 'empty' }, 'The shop is temporarily unavailable.'));
  }
  if (err.status === 404 && show) return show(h('h1', {}, 'Not found'), h('p', {}, err.message), h('a', { href: '#/' }, 'Back to the shop'));
  if (err.status === 429) return banner(explain(err), { kind: 'info' });
  banner(explain(err));
}

/** Replaces the whole page, outside any route (e.g. before the storefront can start). */
export function showPage(...children) {
  app.replaceChildren(...children);
}
