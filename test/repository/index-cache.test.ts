// The local copy of the master index: used while every index file it holds still exists, with
// the files added since read on top; a missing file, a damaged or foreign copy means a full read.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { indexCacheFile } from '../../src/repository/index-cache.js';
import { initRepository, openRepository } from '../../src/repository/keys.js';
import type { Repository } from '../../src/repository/repository.js';
import { tempDir } from '../helpers/tmp.js';

const kdf = { N: 1024, r: 8, p: 1 };

interface Setup {
  readonly dir: string;
  readonly cacheFile: string;
}

async function setup(t: TestContext): Promise<Setup> {
  const root = await tempDir(t);
  const dir = join(root, 'repo');
  const cacheFile = indexCacheFile(join(root, 'cache'), dir);
  await (await initRepository(new LocalBackend(dir), 'pw', { kdf })).close();
  return { dir, cacheFile };
}

/** Opens the repository (with the local copy, or as a client without one), runs `work`, closes it. */
async function session<T>(s: Setup, work: (repo: Repository) => Promise<T>, cache: 'cache' | 'no cache' = 'cache'): Promise<T> {
  const repo = await openRepository(new LocalBackend(s.dir), 'pw', { indexCacheFile: cache === 'cache' ? s.cacheFile : undefined, packSize: 64 * 1024 });
  try {
    return await work(repo);
  } finally {
    await repo.close();
  }
}

/** Saves `count` random blobs and one index file; returns their ids. */
async function addBlobs(repo: Repository, count: number): Promise<string[]> {
  await repo.loadIndex();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await repo.saveBlob('data', randomBytes(1000 + i))).id);
  await repo.flush();
  await repo.saveIndexCache();
  return ids;
}

/** Loads the index; returns the index files read from the repository and every blob's location. */
async function load(repo: Repository): Promise<{ read: number; locations: string[] }> {
  let read = 0;
  await repo.loadIndex(() => read++);
  const locations = [...repo.index.entries()].map((b) => `${b.type}:${b.id}:${b.packId}:${b.offset}:${b.length}:${b.uncompressedLength}`).sort();
  return { read, locations };
}

test('the index comes from the local copy; index files added since are read on top', async (t) => {
  const s = await setup(t);
  const first = await session(s, (repo) => addBlobs(repo, 300));
  const full = await session(s, load, 'no cache');
  assert.equal(full.read, 1);
  assert.equal(full.locations.length, 300);
  const cached = await session(s, load);
  assert.equal(cached.read, 0, 'the session that wrote the index file left a copy of the index');
  assert.deepEqual(cached.locations, full.locations);

  // Another client (no cache) adds an index file: only that one is read.
  const more = await session(s, (repo) => addBlobs(repo, 50), 'no cache');
  const topped = await session(s, load);
  assert.equal(topped.read, 1);
  assert.equal(topped.locations.length, 350);
  for (const id of [...first, ...more]) assert.ok(topped.locations.some((l) => l.includes(id)));
  assert.equal((await session(s, load)).read, 0, 'and the copy now holds it too');
});

test('a deleted index file, a damaged copy or another repository\'s copy mean a full read', async (t) => {
  const s = await setup(t);
  await session(s, (repo) => addBlobs(repo, 100));
  await session(s, (repo) => addBlobs(repo, 100));
  const full = await session(s, load, 'no cache');
  assert.equal(full.read, 2);

  const other = await setup(t);
  await session(other, (repo) => addBlobs(repo, 10));
  await writeFile(s.cacheFile, await readFile(other.cacheFile));
  const foreign = await session(s, load);
  assert.equal(foreign.read, 2, "another repository's copy cannot be decrypted with this key");
  assert.deepEqual(foreign.locations, full.locations);

  await writeFile(s.cacheFile, randomBytes(500));
  const damaged = await session(s, load);
  assert.equal(damaged.read, 2);
  assert.deepEqual(damaged.locations, full.locations);

  assert.equal((await session(s, load)).read, 0);
  const [gone] = await session(s, async (repo) => {
    const ids: string[] = [];
    for await (const f of repo.backend.list('index')) ids.push(f.name);
    return ids;
  });
  await unlink(join(s.dir, 'index', gone!));
  const after = await session(s, load);
  assert.equal(after.read, 1, 'the copy held a file that is gone: the remaining file is read, not the copy');
  assert.equal(after.locations.length, 100);
});
