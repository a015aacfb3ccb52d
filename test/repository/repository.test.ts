// The repository layer on a real local backend: init and open, blobs through packers and workers,
// index files, deduplication, wrong passwords.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { HoldfastError } from '../../src/errors.js';
import { hashId } from '../../src/format/id.js';
import { packSizeOf } from '../../src/format/pack.js';
import { initRepository, openRepository } from '../../src/repository/keys.js';
import { tempDir } from '../helpers/tmp.js';

const kdf = { N: 1024, r: 8, p: 1 };

test('blobs saved by one session are found, deduplicated and loaded by the next', async (t) => {
  const dir = await tempDir(t);
  const repo = await initRepository(new LocalBackend(dir), 'pw', { kdf, packSize: 256 * 1024 });
  const compressible = Buffer.alloc(200_000, 'abc');
  const random = randomBytes(150_000);
  const saved = [];
  for (const data of [compressible, random, randomBytes(10), Buffer.alloc(0)]) saved.push({ data, r: await repo.saveBlob('data', data) });
  const tree = await repo.saveBlob('tree', Buffer.from('{"nodes":[]}\n'));
  assert.equal((await repo.saveBlob('data', random)).known, true, 'a blob saved earlier in the same session is known');
  const indexIds = await repo.flush();
  assert.equal(indexIds.length, 1);
  await repo.close();

  const again = await openRepository(new LocalBackend(dir), 'pw');
  t.after(() => again.close());
  await again.loadIndex();
  assert.equal(again.index.size, 5);
  for (const { data, r } of saved) {
    assert.equal(r.id, hashId(data));
    assert.deepEqual(await again.loadBlob('data', r.id), data);
  }
  assert.equal((await again.loadBlob('tree', tree.id)).toString(), '{"nodes":[]}\n');
  const compressed = again.index.lookup('data', hashId(compressible))!;
  assert.equal(compressed.uncompressedLength, compressible.length, 'compressible data is stored compressed');
  assert.ok(compressed.length < 10_000);
  assert.equal(again.index.lookup('data', hashId(random))!.uncompressedLength, undefined, 'random data is stored as it is');
  assert.equal((await again.saveBlob('data', compressible)).known, true);

  // Every pack's size equals what its index entries add up to, as restic's check computes it.
  const sizes = new Map<string, number>();
  for await (const f of again.backend.list('data')) sizes.set(f.name, f.size);
  const byPack = new Map<string, { length: number; uncompressedLength?: number | undefined }[]>();
  for (const b of again.index.entries()) byPack.set(b.packId, [...(byPack.get(b.packId) ?? []), b]);
  assert.ok(byPack.size >= 2, 'data and tree blobs go to separate packs');
  for (const [pack, blobs] of byPack) assert.equal(sizes.get(pack), packSizeOf(blobs));
});

test('a wrong password is refused with ERR_WRONG_PASSWORD and exit code 12', async (t) => {
  const dir = await tempDir(t);
  await (await initRepository(new LocalBackend(dir), 'right', { kdf })).close();
  await assert.rejects(openRepository(new LocalBackend(dir), 'wrong'), (e: unknown) => {
    return e instanceof HoldfastError && e.code === 'ERR_WRONG_PASSWORD' && e.exitCode === 12;
  });
});

test('opening a directory without a repository fails with exit code 10 and creates nothing', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(openRepository(new LocalBackend(join(dir, 'nope')), 'pw'), (e: unknown) => {
    return e instanceof HoldfastError && e.code === 'ERR_REPO_MISSING' && e.exitCode === 10;
  });
  assert.deepEqual(await readdir(dir), []);
});

test('init refuses to overwrite an existing repository', async (t) => {
  const dir = await tempDir(t);
  await (await initRepository(new LocalBackend(dir), 'pw', { kdf })).close();
  await assert.rejects(initRepository(new LocalBackend(dir), 'pw', { kdf }), /already exists/);
});

test('a big blob spills into several packs, each uploaded once it is full', async (t) => {
  const dir = await tempDir(t);
  const repo = await initRepository(new LocalBackend(dir), 'pw', { kdf, packSize: 64 * 1024, compression: 'off' });
  t.after(() => repo.close());
  for (let i = 0; i < 20; i++) await repo.saveBlob('data', randomBytes(20_000));
  await repo.flush();
  assert.ok(repo.stats.packsWritten >= 5, `expected several packs, got ${repo.stats.packsWritten}`);
  assert.equal(repo.index.size, 20);
});

test('index files are written while packs are stored, and flush reports every one of them', async (t) => {
  const dir = await tempDir(t);
  const repo = await initRepository(new LocalBackend(dir), 'pw', { kdf, packSize: 16 * 1024, compression: 'off', earlyIndexBlobs: 10 });
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) ids.push((await repo.saveBlob('data', randomBytes(4000))).id);
  const reported = await repo.flush();
  await repo.close();
  // Written only at the end, 100 blobs would make one index file; how many are early depends on
  // how fast the writes are, but the first starts as soon as 10 blobs are stored.
  const files = await readdir(join(dir, 'index'));
  assert.ok(files.length >= 2, `index files are written before the end (${files.length} in all)`);
  assert.deepEqual(reported.sort(), files.sort(), 'flush reports the early index files and its own');

  const again = await openRepository(new LocalBackend(dir), 'pw');
  t.after(() => again.close());
  await again.loadIndex();
  assert.equal(again.index.size, 100, 'the index files describe every blob');
  for (const id of ids) assert.ok(again.index.has('data', id));
});
