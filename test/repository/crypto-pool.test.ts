// The crypto worker pool with real workers: blobs of every size class (many small ones sharing a
// batch, ones just under and over a batch, the chunker's largest) seal and open back to the same
// bytes, and the buffers they travel in are reused rather than allocated per batch.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { HoldfastError } from '../../src/errors.js';
import { type CryptoKey, newRandomKey, open } from '../../src/format/crypto.js';
import { loadZstd } from '../../src/format/compression.js';
import { BatchBuffers } from '../../src/repository/batch-buffers.js';
import { CryptoPool, prestartCryptoWorkers, type SealedView } from '../../src/repository/crypto-pool.js';
import { tempDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;

const zstd = await loadZstd();

/** Half random, half zeros: compressible, but not to nothing. */
function blob(length: number): Buffer {
  const b = Buffer.alloc(length);
  randomBytes(length >> 1).copy(b);
  return b;
}

/** A pool of `workers` with a new key, closed when the test ends. */
function startPool(t: TestContext, workers: number): { key: CryptoKey; pool: CryptoPool } {
  const key = newRandomKey();
  const pool = new CryptoPool(key, workers);
  t.after(() => pool.close());
  return { key, pool };
}

/** The plaintext of a sealed blob, opened on this thread. */
function plaintextOf(key: CryptoKey, sealed: Buffer, uncompressedLength: number | undefined): Buffer {
  const plain = open(key, sealed);
  return uncompressedLength === undefined ? plain : zstd.decompress(plain);
}

test('blobs of every size seal to what opens back to their bytes and ids', async (t) => {
  const { key, pool } = startPool(t, 2);
  const sizes = [0, 1, 100, ...Array.from({ length: 300 }, (_, i) => 1000 + i * 97), 2 * MiB - 1, 2 * MiB + 1, 3 * MiB, 8 * MiB];
  const blobs = sizes.map(blob);
  const sealed = await Promise.all(
    blobs.map((data) => pool.seal(data, 3, undefined, (s) => ({ id: s.id, sealed: Buffer.from(s.sealed), uncompressedLength: s.uncompressedLength }))),
  );
  sealed.forEach((s, i) => {
    const data = blobs[i]!;
    assert.equal(s.id, createHash('sha256').update(data).digest('hex'), `id of blob ${i} (${data.length} bytes)`);
    assert.ok(plaintextOf(key, s.sealed, s.uncompressedLength).equals(data), `blob ${i} (${data.length} bytes) opens to its bytes`);
  });
  // And back through the workers, with the expected id checked there.
  const opened = await Promise.all(sealed.map((s, i) => pool.open(s.sealed, s.uncompressedLength, s.id).then((p) => p.equals(blobs[i]!))));
  assert.deepEqual(opened, opened.map(() => true));
  await assert.rejects(pool.open(sealed[5]!.sealed, sealed[5]!.uncompressedLength, sealed[6]!.id), /does not match its id/);
});

test('a spent standard buffer is handed out again; larger and foreign ones are not kept', () => {
  const buffers = new BatchBuffers(2 * MiB);
  const a = buffers.take(100);
  assert.equal(a.byteLength, 2 * MiB, 'any batch gets the standard size');
  buffers.give(a);
  assert.equal(buffers.take(2 * MiB), a, 'and gets it back');

  const big = buffers.take(3 * MiB + 1);
  assert.equal(big.byteLength, 3 * MiB + 1, 'a larger one is made to measure');
  buffers.give(big);
  assert.notEqual(buffers.take(3 * MiB), big, 'and not kept');
  buffers.give(new ArrayBuffer(1000));
  assert.equal(buffers.take(10).byteLength, 2 * MiB, 'nor is a smaller foreign buffer');
});

test('small files are read and sealed on the workers: grown, empty, missing and ordinary ones', async (t) => {
  const { key, pool } = startPool(t, 2);
  const dir = await tempDir(t);
  const files = Array.from({ length: 200 }, (_, i) => blob(1 + i * 131));
  await Promise.all(files.map((data, i) => writeFile(join(dir, `f${i}`), data)));
  await writeFile(join(dir, 'empty'), '');
  await writeFile(join(dir, 'grown'), blob(5000));
  const path = (name: string) => Buffer.from(join(dir, name));
  const copy = (s: SealedView) => ({ id: s.id, sealed: Buffer.from(s.sealed), uncompressedLength: s.uncompressedLength });

  const results = await Promise.all(files.map((data, i) => pool.sealFile(path(`f${i}`), data.length, 3, copy)));
  results.forEach((r, i) => {
    const data = files[i]!;
    assert.ok(r !== 'grown' && r.saved, `file ${i} is sealed`);
    assert.equal(r.read, data.length);
    assert.equal(r.saved.id, createHash('sha256').update(data).digest('hex'));
    assert.ok(plaintextOf(key, r.saved.sealed, r.saved.uncompressedLength).equals(data), `file ${i} opens to its bytes`);
  });
  assert.deepEqual(await pool.sealFile(path('empty'), 0, 3, copy), { read: 0, saved: undefined });
  assert.equal(await pool.sealFile(path('grown'), 4000, 3, copy), 'grown', 'a file larger than its stat said is left to the caller');
  await assert.rejects(pool.sealFile(path('missing'), 10, 3, copy), (e: unknown) => {
    return !(e instanceof HoldfastError) && (e as NodeJS.ErrnoException).code === 'ENOENT' && /no such file/.test((e as Error).message);
  });
  // The pool goes on after a file that could not be read.
  const again = await pool.sealFile(path('f1'), files[1]!.length, 0, copy);
  assert.ok(again !== 'grown' && again.saved?.uncompressedLength === undefined, 'level 0 stores the file uncompressed');
});

test('one batch holds small files, named by any bytes, and blobs given as bytes, in any order', async (t) => {
  const { key, pool } = startPool(t, 1);
  const dir = await tempDir(t);
  // Not UTF-8: the name travels to the worker byte for byte.
  const oddName = Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0xff, 0xfe, 0x0a, 0x41])]);
  const plainName = Buffer.from(join(dir, 'plain'));
  const fileData = [blob(3000), blob(7000)];
  await writeFile(oddName, fileData[0]!);
  await writeFile(plainName, fileData[1]!);
  const given = [blob(20_000), blob(50_000)];
  const opened = (s: SealedView) => ({ id: s.id, plain: plaintextOf(key, s.sealed, s.uncompressedLength) });
  const readFile = async (p: ReturnType<typeof pool.sealFile<ReturnType<typeof opened>>>) => {
    const r = await p;
    assert.ok(r !== 'grown' && r.saved);
    return r.saved;
  };
  // Submitted without a pause: they go out together.
  const [a, b, c, d] = await Promise.all([
    readFile(pool.sealFile(oddName, fileData[0]!.length, 3, opened)),
    pool.seal(given[0]!, 3, undefined, opened),
    readFile(pool.sealFile(plainName, fileData[1]!.length, 3, opened)),
    pool.seal(given[1]!, 3, undefined, opened),
  ]);
  for (const [r, data] of [[a, fileData[0]], [b, given[0]], [c, fileData[1]], [d, given[1]]] as const) {
    assert.equal(r.id, createHash('sha256').update(data!).digest('hex'));
    assert.ok(r.plain.equals(data!));
  }
});

test('workers started before the key is known take it from the pool that adopts them', async (t) => {
  prestartCryptoWorkers(3);
  const { key, pool } = startPool(t, 2);
  const data = blob(100_000);
  const plain = await pool.seal(data, 3, undefined, (s) => plaintextOf(key, s.sealed, s.uncompressedLength));
  assert.ok(plain.equals(data), 'sealed with the key given after the workers started');
  // The third worker was not needed: the next pool starts afresh and still works.
  const other = new CryptoPool(newRandomKey(), 1);
  t.after(() => other.close());
  assert.match(await other.hash(data), /^[0-9a-f]{64}$/);
});
