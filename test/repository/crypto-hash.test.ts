// The hash-only job of the crypto workers: the id equals SHA-256 of the bytes, the caller's bytes
// stay usable, and can then be stored under that id.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import test from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { initRepository } from '../../src/repository/keys.js';
import { tempDir } from '../helpers/tmp.js';

test('hash() returns the SHA-256 id and the same bytes, and saveBlob accepts that id', async (t) => {
  const repo = await initRepository(new LocalBackend(await tempDir(t)), 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
  t.after(() => repo.close());
  const data = randomBytes(300_000);
  const expected = createHash('sha256').update(data).digest('hex');

  const hashed = await repo.hash(data);
  assert.equal(hashed.id, expected);
  assert.ok(hashed.data.equals(data));
  assert.equal(data.length, 300_000, 'the caller keeps its buffer');

  const slice = Buffer.concat([Buffer.from('xx'), data]).subarray(2);
  assert.equal((await repo.hash(slice)).id, expected, 'a view into a larger buffer hashes only its bytes');

  const saved = await repo.saveBlob('data', hashed.data, hashed.id);
  assert.equal(saved.id, expected);
  assert.equal(saved.known, false);
  await repo.flush();
  assert.ok((await repo.loadBlob('data', expected)).equals(data));
  assert.equal((await repo.hash(Buffer.alloc(0))).id, createHash('sha256').digest('hex'));
});
