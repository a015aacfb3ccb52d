// The hash-only job of the crypto workers: the id equals SHA-256 of the bytes, the bytes come back
// unchanged (moved when donated, copied otherwise) and can then be stored under that id.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import test from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { initRepository } from '../../src/repository/keys.js';
import { tempDir } from '../helpers/tmp.js';

test('hash() returns the SHA-256 id and the same bytes, donated or not, and saveBlob accepts that id', async (t) => {
  const repo = await initRepository(new LocalBackend(await tempDir(t)), 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
  t.after(() => repo.close());
  const data = randomBytes(300_000);
  const expected = createHash('sha256').update(data).digest('hex');

  const copied = await repo.hash(data);
  assert.equal(copied.id, expected);
  assert.ok(copied.data.equals(data));
  assert.equal(data.length, 300_000, 'a buffer that was not donated stays usable');

  const own = Buffer.allocUnsafeSlow(data.length);
  data.copy(own);
  const moved = await repo.hash(own, true);
  assert.equal(moved.id, expected);
  assert.ok(moved.data.equals(data));

  const slice = Buffer.concat([Buffer.from('xx'), data]).subarray(2);
  assert.equal((await repo.hash(slice, true)).id, expected, 'a donated view into a larger buffer is copied, not moved');

  const saved = await repo.saveBlob('data', moved.data, moved.id, true);
  assert.equal(saved.id, expected);
  assert.equal(saved.known, false);
  await repo.flush();
  assert.ok((await repo.loadBlob('data', expected)).equals(data));
  assert.equal((await repo.hash(Buffer.alloc(0))).id, createHash('sha256').digest('hex'));
});
