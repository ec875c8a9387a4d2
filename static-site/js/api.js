// The API client: base URL from config.json (written at deploy time), bearer token from
// sessionStorage, and one error type for every failure the UI has to explain.

let config = null;

export async function loadConfig() {
  if (!config) {
    const res = await fetch('config.json', { cache: 'no-store' });
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

// The session lives in sessionStorage: it ends with the tab, and the API never has to trust a cookie.
export const session = {
  get token() { return sessionStorage.getItem('token'); },
  get user() { return JSON.parse(sessionStorage.getItem('user') || 'null'); },
  get isAdmin() { return this.user?.role === 'admin'; },
  save(token, user) {
    sessionStorage.setItem('token', token);
    sessionStorage.setItem('user', JSON.stringify(user));
    dispatchEvent(new Event('session'));
  },
  setUser(user) { sessionStorage.setItem('user', JSON.stringify(user)); dispatchEvent(new Event('session')); },
  clear() {
    sessionStorage.removeItem('token');
    sessionStorage.removeItem('user');
    dispatchEvent(new Event('session'));
  },
};

/** Calls the API. `auth: true` sends the bearer token; a 401 then ends the session. */
export async function api(method, path, { body, auth = false, headers = {} } = {}) {
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
    if (res.status === 401 && auth) {
      session.clear();
      dispatchEvent(new CustomEvent('unauthorized'));
    }
    throw err;
  }
  return data;
}
