// S3 answers a GET during a PUT of the same key with the old object or the new one, whole.
// s3rver's filesystem store rewrites an object's files in place, so such a read got an empty or
// partial body, a 500 (half a metadata file) or a reset connection: under the dev stack a page
// or robots.txt that render-pages was rewriting. Here a PUT writes its body to a file of its own
// first; each key's reads and replacements then take turns, a replacement being renames (a read
// already streaming keeps the file it opened), and the read's turn ends once its file is open.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { pipeline } = require('stream/promises');
const { Transform } = require('stream');

module.exports = function atomicWrites(FilesystemStore, S3Object) {
  const turns = new Map();
  // Runs `step` after every earlier step on the same key.
  const inTurn = (bucket, key, step) => {
    const id = `${bucket}\n${key}`;
    const run = (turns.get(id) || Promise.resolve()).then(step);
    const done = run.catch(() => {});
    turns.set(id, done);
    done.then(() => { if (turns.get(id) === done) turns.delete(id); });
    return run;
  };
  const scratch = (file) => `${file}.${crypto.randomBytes(8).toString('hex')}.tmp`;
  const stored = (metadata) => Object.fromEntries(Object.entries(metadata)
    .filter(([k]) => S3Object.ALLOWED_METADATA.includes(k) || k.startsWith('x-amz-meta-')));

  FilesystemStore.prototype.putObject = async function putObject(object) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
    const [body, md5File, metadataFile] = [scratch(objectPath), scratch(objectPath), scratch(objectPath)];
    const hash = crypto.createHash('md5');
    let size = 0;
    try {
      const source = Buffer.isBuffer(object.content) ? [object.content] : object.content;
      await pipeline(source, new Transform({
        transform(chunk, _, next) { hash.update(chunk); size += chunk.length; next(null, chunk); },
      }), fs.createWriteStream(body));
      const md5 = hash.digest('hex');
      await fs.promises.writeFile(md5File, md5);
      await fs.promises.writeFile(metadataFile, JSON.stringify(stored(object.metadata), null, 2));
      await inTurn(object.bucket, object.key, async () => {
        await fs.promises.rename(body, objectPath);
        await fs.promises.rename(md5File, `${objectPath}.md5`);
        await fs.promises.rename(metadataFile, this.getResourcePath(object.bucket, object.key, 'metadata.json'));
      });
      return { size, md5 };
    } finally {
      // Left only by a failed PUT: the renamed ones are gone from these names.
      await Promise.all([body, md5File, metadataFile].map((f) => fs.promises.rm(f, { force: true })));
    }
  };

  const getObject = FilesystemStore.prototype.getObject;
  FilesystemStore.prototype.getObject = function (bucket, key, options) {
    return inTurn(bucket, key, () => getObject.call(this, bucket, key, options));
  };
  const deleteObject = FilesystemStore.prototype.deleteObject;
  FilesystemStore.prototype.deleteObject = function (bucket, key) {
    return inTurn(bucket, key, () => deleteObject.call(this, bucket, key));
  };
};
