// The S3 emulator as the stacks run it (scripts/s3rver/run.cjs): a read during a write of the same
// key gets the old object or the new one, whole, as from S3 (render-pages rewrites pages and
// robots.txt while browsers read them).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { root } from './stack.mjs';

const freePort = () => new Promise((resolve) => {
  const srv = net.createServer().listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
});

async function s3rver() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shop-s3rver-'));
  const child = spawn('node', ['scripts/s3rver/run.cjs', '--directory', dir, '--address', '127.0.0.1', '--port', String(port), '--silent', '--configure-bucket', 'site'], { cwd: root, stdio: 'inherit' });
  const url = `http://127.0.0.1:${port}/site`;
  for (let tries = 0; ; tries++) {
    if (await fetch(url).then(() => true, () => false)) break;
    assert.ok(tries < 300, 's3rver did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a read while the same key is rewritten gets one whole version, and a read after a write the new one', async () => {
  const s3 = await s3rver();
  try {
    const key = `${s3.url}/robots.txt`;
    const versions = ['A'.repeat(200_000), 'B'.repeat(150_000)];
    const put = (body) => fetch(key, { method: 'PUT', body, headers: { 'content-type': 'text/plain' } }).then((r) => assert.equal(r.status, 200));
    await put(versions[0]);
    let writing = true;
    const seen = [];
    const writer = (async () => {
      for (let i = 1; i <= 150; i++) {
        await put(versions[i % 2]);
        // Read your own write.
        assert.equal(await fetch(key).then((r) => r.text()), versions[i % 2], `the read after write ${i}`);
      }
      writing = false;
    })();
    const readers = [...Array(4)].map(async () => {
      while (writing) {
        try {
          const r = await fetch(key);
          const body = await r.text();
          seen.push(r.status === 200 && versions.includes(body) ? 'whole' : `${r.status}: ${body.length} bytes`);
        } catch (e) {
          seen.push(`${e.cause?.code ?? e.message}`);
        }
      }
    });
    await Promise.all([writer, ...readers]);
    assert.deepEqual(seen.filter((s) => s !== 'whole'), []);
    assert.ok(seen.length > 100, `${seen.length} reads`);
  } finally {
    await s3.stop();
  }
});
