#!/usr/bin/env node
// s3rver as the dev stack runs it: the CLI's options, plus `--events-log FILE`, to which every
// object-created notification is appended as one JSON line (S3's event record). The dev tooling
// (`xtask streams`) hands those to the upload functions as S3 hands them to EventBridge.
'use strict';
const fs = require('fs');
const path = require('path');
const S3rver = require(path.join(__dirname, '../../.cache/node/node_modules/s3rver'));

const args = process.argv.slice(2);
const options = { silent: false, configureBuckets: [] };
let eventsLog = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--directory') options.directory = args[++i];
  else if (a === '--address') options.address = args[++i];
  else if (a === '--port') options.port = Number(args[++i]);
  else if (a === '--silent') options.silent = true;
  else if (a === '--events-log') eventsLog = args[++i];
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
  ({ address, port }) => { if (!options.silent) console.log(`s3rver listening on ${address}:${port}`); },
  (e) => { console.error(e); process.exit(1); },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close().then(() => process.exit(0)));
