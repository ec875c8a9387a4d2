#!/usr/bin/env node
// s3rver as the dev stack runs it: the CLI's options, plus `--events-log FILE`, to which every
// object-created notification is appended as one JSON line (S3's event record). The dev tooling
// (`xtask streams`) hands those to the upload functions as S3 hands them to EventBridge. Writes
// replace an object whole, as S3's do (atomic-writes.cjs).
'use strict';
const fs = require('fs');
const path = require('path');
const s3rver = path.join(__dirname, '../../.cache/node/node_modules/s3rver');
const S3rver = require(s3rver);
require('./atomic-writes.cjs')(require(`${s3rver}/lib/stores/filesystem`), require(`${s3rver}/lib/models/object`));

const args = process.argv.slice(2);
const options = { silent: false, configureBuckets: [] };
let eventsLog = null;
let front = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--directory') options.directory = args[++i];
  else if (a === '--address') options.address = args[++i];
  else if (a === '--port') options.port = Number(args[++i]);
  else if (a === '--silent') options.silent = true;
  else if (a === '--events-log') eventsLog = args[++i];
  else if (a === '--site-front') front = { port: Number(args[++i]), bucket: args[++i], images: args[++i] };
  else if (a === '--configure-bucket') {
    const name = args[++i];
    const configs = [];
    while (i + 1 < args.length && !args[i + 1].startsWith('--')) configs.push(fs.readFileSync(args[++i]));
    options.configureBuckets.push({ name, configs });
  } else {
    console.error(`s3rver: unknown option ${a}`);
    process.exit(2);
  }
}
fs.mkdirSync(options.directory, { recursive: true });

const server = new S3rver(options);
if (eventsLog) {
  server.on('event', (event) => {
    for (const record of event.Records) {
      if (record.eventName.startsWith('ObjectCreated:')) {
        // Appended whole lines only: a reader never sees half a record.
        fs.appendFileSync(eventsLog, JSON.stringify(record) + '\n');
      }
    }
  });
}
server.run().then(
  ({ address, port }) => {
    if (!options.silent) console.log(`s3rver listening on ${address}:${port}`);
    if (front) siteFront(address, port, front);
  },
  (e) => { console.error(e); process.exit(1); },
);
// The storefront as CloudFront serves it (`--site-front PORT BUCKET`): each request's path goes
// through the CDN's own viewer-request function (scripts/cdn/site-paths.js, the code both IaCs
// deploy) and the object it names is read from the bucket; the query string is not forwarded,
// as the site's cache policy forwards none.
function siteFront(s3Address, s3Port, { port, bucket, images }) {
  const http = require('http');
  const vm = require('vm');
  const code = fs.readFileSync(path.join(__dirname, '../cdn/site-paths.js'), 'utf8');
  const handler = vm.runInNewContext(`${code}\nhandler`);
  http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const uri = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    // The CDN's pictures behaviour (products/*/*, the images bucket, no function) comes first.
    const picture = /^\/products\/[^/]+\/./.test(uri);
    const mapped = picture ? { uri } : handler({ request: { uri, method: req.method, querystring: {}, headers: {} } });
    const upstream = http.request({
      host: s3Address, port: s3Port, method: req.method,
      path: `/${picture ? images : bucket}${encodeURI(mapped.uri)}`,
      headers: { 'if-none-match': req.headers['if-none-match'] || '' },
    }, (up) => {
      const keep = ['content-type', 'content-length', 'cache-control', 'etag', 'last-modified'];
      const headers = Object.fromEntries(keep.filter((h) => up.headers[h]).map((h) => [h, up.headers[h]]));
      // S3 answers a missing object with an XML error; the CDN passes the status on.
      res.writeHead(up.statusCode === 403 ? 404 : up.statusCode, headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    upstream.end();
  }).listen(port, '127.0.0.1', () => {
    if (!options.silent) console.log(`site front listening on 127.0.0.1:${port}`);
  });
}

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close().then(() => process.exit(0)));
