// The whole local stack for the browser journeys and the Lighthouse report, started with the README's
// own `make dev` script on free ports, its data in a fresh folder; `stop()` ends all of it.

import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const PORTS = ['API_PORT', 'DYNAMODB_PORT', 'S3_PORT', 'SITE_PORT', 'STRIPE_PORT', 'MOTO_PORT'];

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** An authenticator secret as the shop shows it: 20 random bytes in base32 (RFC 4648). */
function newSecret() {
  let bits = '';
  for (const b of randomBytes(20)) bits += b.toString(2).padStart(8, '0');
  return bits.match(/.{5}/g).map((c) => BASE32[parseInt(c, 2)]).join('');
}

/** The TOTP code (RFC 6238: HMAC-SHA1, 6 digits) of base32 `secret` at 30-second `step`. */
export function totp(secret, step) {
  const bits = [...secret.replace(/[\s=]/g, '').toUpperCase()].map((c) => BASE32.indexOf(c).toString(2).padStart(5, '0')).join('');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[19] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

const lastStep = new Map();

/** A code of `secret` that no earlier call gave: the shop accepts each code once, and those of the
 *  steps either side of now. The step behind now is given only while 10 s of its window are left
 *  (so it cannot leave the window before the request lands); this waits for the next step when
 *  the codes it may give are used. */
export async function unusedCode(secret) {
  for (;;) {
    const now = Math.floor(Date.now() / 1000);
    const current = Math.floor(now / 30);
    const first = now % 30 < 20 ? current - 1 : current;
    const step = Math.max(first, (lastStep.get(secret) ?? -Infinity) + 1);
    if (step <= current + 1) {
      lastStep.set(secret, step);
      return totp(secret, step);
    }
    await new Promise((r) => setTimeout(r, (30 - (now % 30)) * 1000));
  }
}

/** Starts `make dev`'s script and resolves once it says the shop is running. */
export async function startStack() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'shop-browser-'));
  // The seeded admin's authenticator secret: this run's own.
  const adminTotp = newSecret();
  const log = [];
  const stack = spawn('bash', ['scripts/dev.sh'], {
    cwd: root,
    detached: true,
    // Ports of 0: free ones, chosen by the script after its build (one chosen before could be taken
    // by another program meanwhile), named in its ports.env.
    env: { ...process.env, ...Object.fromEntries(PORTS.map((name) => [name, '0'])), LOCAL_DIR: dataDir, ADMIN_TOTP_SECRET: adminTotp, LOCAL_SCHEDULE_SECONDS: '2', LOG_LEVEL: 'warn', WATCH_ARGS: '--ignore-changes' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async () => {
    if (stack.exitCode === null) {
      const exited = new Promise((resolve) => stack.once('exit', resolve));
      process.kill(-stack.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      try { process.kill(-stack.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  let ports;
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the stack did not start:\n${log.join('')}`)), 10 * 60_000);
      stack.stdout.on('data', (d) => {
        log.push(String(d));
        if (String(d).includes('The shop is running')) { clearTimeout(timer); resolve(); }
      });
      stack.stderr.on('data', (d) => log.push(String(d)));
      stack.on('exit', (code) => { clearTimeout(timer); reject(new Error(`make dev exited with ${code}:\n${log.join('')}`)); });
    });
    ports = Object.fromEntries(readFileSync(path.join(dataDir, 'ports.env'), 'utf8').trim().split('\n').map((l) => l.split('=')));
    // The sample pictures are made from uploads, as an admin's are: resize-image runs on each
    // upload's event (delivered by `xtask streams`); wait until every sample product has its own.
    const api = `http://127.0.0.1:${ports.API_PORT}`;
    for (let waited = 0; ; waited += 1000) {
      const all = await fetch(`${api}/products?limit=100&pictures=${waited}`).then((r) => r.json()).catch(() => ({ items: [] }));
      if (all.items.length > 0 && all.items.every((p) => p.picture)) break;
      if (waited > 180_000) throw new Error(`the sample pictures were not made:\n${log.join('')}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    site: `http://127.0.0.1:${ports.SITE_PORT}/`,
    s3: `http://127.0.0.1:${ports.S3_PORT}`,
    api: `http://127.0.0.1:${ports.API_PORT}`,
    stripe: `http://127.0.0.1:${ports.STRIPE_PORT}`,
    moto: `http://127.0.0.1:${ports.MOTO_PORT}`,
    adminTotp,
    stop,
  };
}

/** The storefront's public pages, by name, for Lighthouse (fresh loads, signed out). */
export async function publicPages({ site, api }) {
  const products = await (await fetch(`${api}/products?limit=3`)).json();
  return [
    ['home', ''],
    ['category', 'category/coffee'],
    ['search results', 'search?q=tea'],
    ['product', `products/${products.items[0].slug}`],
    ['cart', '#/cart'],
    ['sign-in', '#/login'],
    ['register', '#/register'],
  ].map(([name, hash]) => [name, site + hash]);
}

/** Lighthouse (mobile preset) in Debian chromium over `pages` (`[name, url]`): each one's result. */
export async function lighthouseRuns(pages, categories) {
  const modules = path.join(root, '.cache/node/node_modules');
  const { default: lighthouse } = await import(pathToFileURL(path.join(modules, 'lighthouse/core/index.js')));
  const launcher = await import(pathToFileURL(path.join(modules, 'chrome-launcher/dist/index.js')));
  const chrome = await launcher.launch({
    chromePath: '/usr/bin/chromium',
    chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  try {
    const runs = [];
    for (const [name, url] of pages) {
      const { lhr } = await lighthouse(url, {
        port: chrome.port, output: 'json', logLevel: 'error', onlyCategories: categories,
        // The report's picture of the whole page: no audit scores it, and it costs ~1 s a page.
        disableFullPageScreenshot: true,
      });
      runs.push([name, lhr]);
    }
    return runs;
  } finally {
    await chrome.kill();
  }
}
