// Navigation: the route table, rendering the page the address names, and sending the shopper to sign
// in. Addresses are paths. The public pages (/, /category/<name>, /products/<slug>) arrive
// prerendered: the first render takes them over instead of drawing them again, and a link to one
// loads it. The app's own pages (/cart, /orders/…, /admin/…) are drawn here, a link between them
// moving through the history without a reload. An old `/…` link lands on its page. Pages import
// this module; it imports no page (main.js registers them).

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

/** The route the address names (`/search?q=` is the catalog); an old `/…` address becomes its path. */
function current() {
  if (location.hash.startsWith('#/')) history.replaceState(null, '', location.hash.slice(1));
  return (location.pathname === '/search' ? '/' : location.pathname) + location.search;
}

/** Whether `path` is one of the prerendered public pages, which a link loads rather than draws. */
export function isPublicPage(path) {
  return path === '/' || /^\/(products|category)\/[a-z0-9-]+\/?$/.test(path);
}

let first = true;

/** Moves to `target` (a path; an old `/…` one too) and draws it. */
export function go(target) {
  const to = target.startsWith('#/') ? target.slice(1) : target;
  if (to !== location.pathname + location.search) history.pushState(null, '', to);
  render({ moved: true });
}

/** A path of this site to send the shopper back to after signing in; anything else is the shop. */
export function safeNext(next) {
  if (next?.startsWith('#/')) next = next.slice(1);
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

/** Sends the shopper to sign in, remembering where they were. */
export function toLogin(message) {
  const here = location.pathname + location.search;
  sessionStorage.setItem('login-message', message || '');
  go(`/login?next=${encodeURIComponent(here.startsWith('/login') ? '/' : here)}`);
}

/** A click on a link to one of the app's own pages moves through the history; every other link
 *  (a public page, a file, another site, a new tab) is left to the browser. */
export function interceptLinks() {
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest?.('a[href]');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || (url.hash && url.pathname === location.pathname && !url.hash.startsWith('#/'))) return;
    const path = url.hash.startsWith('#/') ? url.hash.slice(1) : url.pathname + url.search;
    const bare = path.split('?')[0];
    if (isPublicPage(bare) || /\.[a-z0-9]+$/i.test(bare)) return;
    e.preventDefault();
    go(path);
  });
}

// Each render has a generation; a view draws only while it is the latest, so a slow response for a
// page the shopper already left can never replace the page they are on.
let generation = 0;

/** Draws the page the hash names. `moved` (a navigation, not the first load or a redraw): the
 *  focus then goes to the new page, so the keyboard continues there and a screen reader reads it. */
export async function render({ moved = false } = {}) {
  const mine = ++generation;
  const show = (...children) => { if (mine === generation) app.replaceChildren(...children); };
  const prerendered = first && app.dataset.page && !location.hash.startsWith('#/') && isPublicPage(location.pathname);
  first = false;
  if (prerendered && hydrate) return hydrate(app);
  const [path, query] = current().split('?');
  // Back to a product's prerendered page: it is a page of its own, not one drawn here.
  if (/^\/products\//.test(path) && isPublicPage(path)) return location.reload();
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
  show(h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '/' }, 'Back to the shop')));
}

/** The one place a failed request is explained; `show` (when given) replaces the page. */
export function failed(err, show) {
  if (!(err instanceof ApiError)) throw err;
  if (err.status === 401) return toLogin('Your session has ended. Please sign in again.');
  if (err.offline) {
    banner('We cannot reach the shop right now.', { retry: render });
    return show?.(h('div', { class: 'empty' }, 'The shop is temporarily unavailable.'));
  }
  if (err.status === 404 && show) return show(h('h1', {}, 'Not found'), h('p', {}, err.message), h('a', { href: '/' }, 'Back to the shop'));
  if (err.status === 429) return banner(explain(err), { kind: 'info' });
  banner(explain(err));
}

/** Replaces the whole page, outside any route (e.g. before the storefront can start). */
export function showPage(...children) {
  app.replaceChildren(...children);
}
