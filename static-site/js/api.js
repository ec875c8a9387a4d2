// The API client: base URL from config.json (written at deploy time), bearer token from
// sessionStorage, and one error type for every failure the UI has to explain.

let config = null;

export async function loadConfig() {
  if (!config) {
    // From the site's root: pages are served at every depth of path.
    const res = await fetch('/config.json', { cache: 'no-store' });
    if (!res.ok) throw new Error('config.json is missing');
    config = await res.json();
    config.apiUrl = config.apiUrl.replace(/\/$/, '');
  }
  return config;
}

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    const err = (body && body.error) || {};
    super(err.message || (status === 0 ? 'The shop cannot be reached right now.' : `Request failed (${status})`));
    this.status = status;
    this.code = err.code || (status === 0 ? 'network' : 'unknown');
    this.field = err.field;
    this.details = err.details;
    this.retryAfter = retryAfter;
  }
  get offline() { return this.status === 0 || this.status === 503; }
}

// The session lives in sessionStorage: it ends with the tab, and the API never has to trust a
// cookie. The refresh token is kept there too, not in an HttpOnly cookie: a cookie would need CSRF
// defences and credentialed CORS (the local API is another origin), while the storefront's CSP (no
// inline or foreign script) is what stands between it and XSS; the token is rotated on every use,
// so a stolen copy that is used ends the session for both holders.
export const session = {
  get token() { return sessionStorage.getItem('token'); },
  get refreshToken() { return sessionStorage.getItem('refresh'); },
  get user() { return JSON.parse(sessionStorage.getItem('user') || 'null'); },
  get isAdmin() { return this.user?.role === 'admin'; },
  save(token, user, refresh) {
    sessionStorage.setItem('token', token);
    sessionStorage.setItem('user', JSON.stringify(user));
    if (refresh) sessionStorage.setItem('refresh', refresh);
    dispatchEvent(new Event('session'));
  },
  renew(token, refresh) {
    sessionStorage.setItem('token', token);
    sessionStorage.setItem('refresh', refresh);
  },
  setUser(user) { sessionStorage.setItem('user', JSON.stringify(user)); dispatchEvent(new Event('session')); },
  clear() {
    sessionStorage.removeItem('token');
    sessionStorage.removeItem('refresh');
    sessionStorage.removeItem('user');
    dispatchEvent(new Event('session'));
  },
};

let renewing = null;

/** Trades the refresh token for a new pair, once at a time; false when the session is over. */
function renew() {
  renewing ??= (async () => {
    const { apiUrl } = await loadConfig();
    const refresh = session.refreshToken;
    if (!refresh) return false;
    try {
      const res = await fetch(`${apiUrl}/users/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: refresh }) });
      if (!res.ok) return false;
      const pair = await res.json();
      session.renew(pair.token, pair.refresh_token);
      return true;
    } catch { return false; }
  })().finally(() => { renewing = null; });
  return renewing;
}

/** Seconds the access token has left, from its payload (the API checks the signature); a token
 *  that cannot be read counts as fresh, and a 401 then renews it. */
function secondsLeft(token) {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return payload.exp - Date.now() / 1000;
  } catch { return Infinity; }
}

/** Renew this long before the access token expires, so a request is not sent to fail. */
const RENEW_AHEAD_SECONDS = 60;

/** Calls the API. `auth: true` sends the bearer token, renewed silently shortly before it expires
 *  (the access token lasts 15 minutes, the session 30 days); a 401 still renews it once and only
 *  then ends the session. `etag: true` answers `{ data, etag }`; `raw: true` answers `{ text, link }`. */
export async function api(method, path, opts = {}) {
  if (opts.auth && session.token && session.refreshToken && secondsLeft(session.token) < RENEW_AHEAD_SECONDS) {
    await renew();
  }
  try {
    return await call(method, path, opts, false);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401 || !opts.auth || !session.refreshToken) throw err;
    if (!(await renew())) {
      endSession();
      throw err;
    }
    return call(method, path, opts, true);
  }
}

function endSession() {
  session.clear();
  dispatchEvent(new CustomEvent('unauthorized'));
}

async function call(method, path, { body, auth = false, headers = {}, etag = false, raw = false } = {}, retried = false) {
  const { apiUrl } = await loadConfig();
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (auth && session.token) init.headers.authorization = `Bearer ${session.token}`;
  let res;
  try {
    res = await fetch(apiUrl + path, init);
  } catch {
    throw new ApiError(0, null);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, data, Number(res.headers.get('retry-after')) || undefined);
    if (res.status === 401 && auth && (retried || !session.refreshToken)) endSession();
    throw err;
  }
  // A file (a CSV export) as text, with the `Link` header that names its next page.
  if (raw) return { text, link: res.headers.get('link') };
  // A versioned document (settings) comes with the ETag its next change must send as If-Match.
  return etag ? { data, etag: res.headers.get('etag') } : data;
}
