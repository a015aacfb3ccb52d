// The crypto worker pool with real workers: blobs of every size class (many small ones sharing a
// batch, ones just under and over a batch, the chunker's largest) seal and open back to the same
// bytes, and the buffers they travel in are reused rather than allocated per batch.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import test from 'node:test';
import { newRandomKey, open } from '../../src/format/crypto.js';
import { loadZstd } from '../../src/format/compression.js';
import { BatchBuffers } from '../../src/repository/batch-buffers.js';
import { CryptoPool } from '../../src/repository/crypto-pool.js';

const MiB = 1024 * 1024;

/** Half random, half zeros: compressible, but not to nothing. */
function blob(length: number): Buffer {
  const b = Buffer.alloc(length);
  randomBytes(length >> 1).copy(b);
  return b;
}

test('blobs of every size seal to what opens back to their bytes and ids', async (t) => {
  const key = newRandomKey();
  const pool = new CryptoPool(key, 2);
  t.after(() => pool.close());
  const zstd = await loadZstd();
  const sizes = [0, 1, 100, ...Array.from({ length: 300 }, (_, i) => 1000 + i * 97), 2 * MiB - 1, 2 * MiB + 1, 3 * MiB, 8 * MiB];
  const blobs = sizes.map(blob);
  const sealed = await Promise.all(
    blobs.map((data) => pool.seal(data, 3, undefined, (s) => ({ id: s.id, sealed: Buffer.from(s.sealed), uncompressedLength: s.uncompressedLength }))),
  );
  sealed.forEach((s, i) => {
    const data = blobs[i]!;
    assert.equal(s.id, createHash('sha256').update(data).digest('hex'), `id of blob ${i} (${data.length} bytes)`);
    let plain = open(key, s.sealed);
    if (s.uncompressedLength !== undefined) plain = zstd.decompress(plain);
    assert.ok(plain.equals(data), `blob ${i} (${data.length} bytes) opens to its bytes`);
  });
  // And back through the workers, with the expected id checked there.
  const opened = await Promise.all(sealed.map((s, i) => pool.open(s.sealed, s.uncompressedLength, s.id).then((p) => p.equals(blobs[i]!))));
  assert.deepEqual(opened, opened.map(() => true));
  await assert.rejects(pool.open(sealed[5]!.sealed, sealed[5]!.uncompressedLength, sealed[6]!.id), /does not match its id/);
});

test('a spent buffer is handed out again: standard ones always, larger ones that fit, within their bound', () => {
  const buffers = new BatchBuffers(2 * MiB, 10 * MiB);
  const a = buffers.take(100);
  assert.equal(a.byteLength, 2 * MiB, 'any batch gets the standard size');
  buffers.give(a);
  assert.equal(buffers.take(2 * MiB), a, 'and gets it back');

  const big = buffers.take(3 * MiB + 1);
  assert.equal(big.byteLength, 4 * MiB, 'larger ones are rounded up to whole MiB');
  buffers.give(big);
  assert.equal(buffers.take(3 * MiB), big, 'a kept larger buffer that fits is reused');

  const huge = buffers.take(9 * MiB);
  buffers.give(big);
  buffers.give(huge);
  assert.notEqual(buffers.take(9 * MiB), huge, 'beyond the bound a larger buffer is dropped');
  assert.equal(buffers.take(4 * MiB), big);
  buffers.give(new ArrayBuffer(1000));
  assert.equal(buffers.take(10).byteLength, 2 * MiB, 'smaller foreign buffers are not kept');
});
