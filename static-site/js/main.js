// Bean & Leaf storefront: the prerendered public pages taken over, and the app's own pages drawn over
// the shop API, all at path addresses. Every request shows a loading
// state and explains its failure; a 401 sends the shopper to sign in and back.
// The entry point: registers the pages with the router, wires the page chrome, and starts.

import { loadConfig, session } from './api.js';
import * as cart from './cart.js';
import { adminRoutes } from './admin.js';
import { checkoutRoutes } from './checkout.js';
import { addRoutes, go, interceptLinks, render, setHydrate, showPage, toLogin } from './router.js';
import { hydrate, shopRoutes } from './shop.js';
import { h } from './ui.js';

addRoutes(shopRoutes);
addRoutes(checkoutRoutes);
addRoutes(adminRoutes);
setHydrate(hydrate);

function syncNav() {
  const kind = session.token ? (session.isAdmin ? 'admin' : 'user') : 'guest';
  document.querySelectorAll('[data-auth]').forEach((el) => {
    const need = el.dataset.auth;
    el.hidden = need === 'guest' ? kind !== 'guest' : need === 'admin' ? kind !== 'admin' : kind === 'guest';
  });
  const acct = document.getElementById('nav-account');
  acct.textContent = session.user ? `Hi, ${session.user.name.split(' ')[0]}` : 'Account';
}

// ------------------------------------------------------------------ start

addEventListener('popstate', () => render({ moved: true }));
// An old `#/…` address typed or followed within the page.
addEventListener('hashchange', () => { if (location.hash.startsWith('#/')) render({ moved: true }); });
interceptLinks();
addEventListener('session', syncNav);
addEventListener('cart', (e) => { document.getElementById('cart-count').textContent = String(e.detail.count); });
addEventListener('unauthorized', () => toLogin('Your session has ended. Please sign in again.'));
document.getElementById('search').addEventListener('submit', (e) => {
  e.preventDefault();
  const q = new FormData(e.currentTarget).get('q').trim();
  go(q ? `/search?${new URLSearchParams({ q })}` : '/search');
});

syncNav();
loadConfig()
  .then(() => { render(); cart.getCart().catch(() => {}); })
  .catch(() => showPage(h('div', { class: 'empty', id: 'no-config' }, 'This storefront has no config.json: deploy it with its API URL.')));
