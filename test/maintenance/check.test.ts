// check on a repository built for it: clean packs (compressed, stored as they are, bigger than a
// read at once), then one damage at a time, each reported exactly once and where restic would.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { goTimeFromDate } from '../../src/format/go-json.js';
import { randomId } from '../../src/format/id.js';
import { encodeIndexFile } from '../../src/format/index-file.js';
import type { PackedBlob } from '../../src/format/pack.js';
import { makeNode } from '../../src/format/node.js';
import { encodeTree } from '../../src/format/tree.js';
import { type CheckEvent, checkRepository, type CheckResult } from '../../src/maintenance/check.js';
import { PIECE_BYTES } from '../../src/maintenance/pack-data.js';
import type { ReadDataSubset } from '../../src/maintenance/read-data-subset.js';
import { initRepository, openRepository } from '../../src/repository/keys.js';
import { saveSnapshot } from '../../src/repository/snapshots.js';
import { holdfast, testEnv } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const kdf = { N: 1024, r: 8, p: 1 };
const password = testEnv.HOLDFAST_PASSWORD;

interface Fixture {
  readonly dir: string;
  /** Data blob id -> the pack that holds it. */
  readonly packOf: Map<string, string>;
  readonly packs: string[];
  /** A data blob stored under an id that is not its content's hash, when asked for. */
  readonly misnamed?: string;
}

const packPath = (dir: string, pack: string) => join(dir, 'data', pack.slice(0, 2), pack);

/**
 * Several data packs of 3 MiB holding small compressible blobs, incompressible ones and one of
 * 9 MiB (more than any single read of check), a tree listing them all, and a snapshot of it.
 */
async function buildRepository(t: TestContext, options: { misnamed?: boolean; missingBlob?: string } = {}): Promise<Fixture> {
  const dir = await tempDir(t);
  const repo = await initRepository(new LocalBackend(dir), password, { kdf, packSize: 3 * 1024 * 1024 });
  const contents: Buffer[] = [];
  for (let i = 0; i < 120; i++) contents.push(i % 4 === 0 ? Buffer.alloc(60_000 + i * 1000, `text ${i} `) : randomBytes(80_000 + i * 500));
  contents.push(randomBytes(9 * 1024 * 1024));
  const ids: string[] = [];
  for (const data of contents) ids.push((await repo.saveBlob('data', data)).id);
  let misnamed: string | undefined;
  if (options.misnamed) {
    misnamed = randomId();
    await repo.saveBlob('data', randomBytes(30_000), misnamed);
  }
  const now = goTimeFromDate(new Date());
  const content = options.missingBlob ? [...ids, options.missingBlob] : ids;
  const file = makeNode({ name: Buffer.from('all'), type: 'file', mode: 0o644, mtime: now, size: 0n, content });
  const root = (await repo.saveBlob('tree', encodeTree([file]))).id;
  await repo.flush();
  await saveSnapshot(repo, { time: now, tree: root, paths: ['/data'], hostname: 'h' });
  const packOf = new Map<string, string>();
  for (const b of repo.index.entries()) if (b.type === 'data') packOf.set(b.id, b.packId);
  await repo.close();
  return { dir, packOf, packs: [...new Set(packOf.values())].sort(), ...(misnamed ? { misnamed } : {}) };
}

async function check(dir: string, readData: boolean | ReadDataSubset = true, report?: (e: CheckEvent) => void): Promise<CheckResult> {
  const repo = await openRepository(new LocalBackend(dir), password);
  try {
    return await checkRepository(repo, { readData }, report);
  } finally {
    await repo.close();
  }
}

/** A data pack holding several blobs, none of them the 9 MiB one. */
function smallBlobPack(f: Fixture): string {
  const counts = new Map<string, number>();
  for (const pack of f.packOf.values()) counts.set(pack, (counts.get(pack) ?? 0) + 1);
  return [...counts].find(([, n]) => n > 3)![0];
}

async function flipByte(path: string, at: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0x40;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}

test('a clean repository: every pack is read and nothing is reported', async (t) => {
  const f = await buildRepository(t);
  const r = await check(f.dir);
  assert.deepEqual(r.errors, []);
  assert.ok(f.packs.length >= 4, `${f.packs.length} data packs`);
  assert.equal(r.packsRead, r.packs, 'every pack, data and tree, is read');
  let total = 0;
  for await (const p of new LocalBackend(f.dir).list('data')) total += p.size;
  assert.equal(r.bytesRead, total);
  assert.equal(r.snapshots, 1);
  assert.equal(r.trees, 1);
});

test('a blob whose content does not match its id is reported with its pack', async (t) => {
  const f = await buildRepository(t, { misnamed: true });
  const pack = f.packOf.get(f.misnamed!)!;
  assert.deepEqual((await check(f.dir, false)).errors, [], 'only reading the data finds it');
  assert.deepEqual((await check(f.dir)).errors, [`pack ${pack}: blob ${f.misnamed}: content does not match its id`]);
});

test('a damaged byte in a pack makes its hash wrong: reported once, as restic does', async (t) => {
  const f = await buildRepository(t);
  const pack = smallBlobPack(f);
  await flipByte(packPath(f.dir, pack), 100);
  assert.deepEqual((await check(f.dir, false)).errors, [], 'the header is intact');
  assert.deepEqual((await check(f.dir)).errors, [`pack ${pack}: Pack ID does not match, the pack file is damaged`]);

  const cli = await holdfast(['-r', f.dir, 'check', '--read-data']);
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, new RegExp(`pack ${pack}: Pack ID does not match, the pack file is damaged`));
  assert.match(cli.stderr, /check found 1 error\(s\)/);
});

test('a truncated pack and a missing one are reported, and the other packs are still read', async (t) => {
  const f = await buildRepository(t);
  const [short, gone] = f.packs;
  const path = packPath(f.dir, short!);
  const size = (await readFile(path)).length;
  await truncate(path, size - 10);
  await rm(packPath(f.dir, gone!));
  const r = await check(f.dir);
  assert.deepEqual(r.errors.sort(), [
    `pack ${gone} does not exist`,
    `pack ${short}: Pack ID does not match, the pack file is damaged`,
    `pack ${short}: unexpected file size: got ${size - 10}, expected ${size}`,
  ].sort());
  assert.equal(r.packsRead, r.packs - 1);
});

test('a data blob missing from the index is reported with the file that refers to it', async (t) => {
  const missing = randomId();
  const f = await buildRepository(t, { missingBlob: missing });
  const r = await check(f.dir, false);
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0]!, new RegExp(`^snapshot [0-9a-f]{8}: /all: data blob ${missing} not found in index$`));
});

test('what reading the packs finds is reported in its own phase, after the errors of the trees', async (t) => {
  const missing = randomId();
  const f = await buildRepository(t, { missingBlob: missing });
  const pack = smallBlobPack(f);
  await flipByte(packPath(f.dir, pack), 100);
  const events: CheckEvent[] = [];
  const r = await check(f.dir, true, (e) => events.push(e));
  const order = events.flatMap((e) => (e.type === 'phase' ? [e.phase] : e.type === 'error' ? [e.message.includes('Pack ID') ? 'pack error' : 'tree error'] : []));
  assert.deepEqual(order, ['index', 'packs', 'headers', 'snapshots', 'tree error', 'read-data', 'pack error']);
  assert.equal(r.errors.length, 2);
  assert.match(r.errors[1]!, /Pack ID does not match/);
  // Every progress event of the data read comes after its phase was announced.
  const dataPhase = events.findIndex((e) => e.type === 'phase' && e.phase === 'read-data');
  assert.ok(events.every((e, i) => e.type !== 'progress' || e.bytes === undefined || i > dataPhase));
  assert.equal(r.packsRead, r.packs);
});

test('--read-data-subset n/t reads the n-th group by pack id; t runs read every pack once', async (t) => {
  const f = await buildRepository(t);
  const all = await check(f.dir);
  let read = 0;
  for (let n = 1; n <= 3; n++) {
    const r = await check(f.dir, { kind: 'group', n, of: 3 });
    assert.deepEqual(r.errors, []);
    read += r.packsRead;
  }
  assert.equal(read, all.packsRead);
  const some = await check(f.dir, { kind: 'size', bytes: 1 });
  assert.equal(some.packsRead, 1, 'a size reads packs until it is reached');
});

/** Replaces every index file by one where `change` rewrote the blob list of the pack `packId`. */
async function rewriteIndex(dir: string, packId: string, change: (blobs: PackedBlob[]) => PackedBlob[]): Promise<void> {
  const repo = await openRepository(new LocalBackend(dir), password);
  try {
    await repo.loadIndex();
    const packs = [...repo.index.packsOneByOne()].map(({ id, blobs }) => {
      const plain = blobs.map((b): PackedBlob => ({ id: b.id, type: b.type, offset: b.offset, length: b.length, uncompressedLength: b.uncompressedLength }));
      return { id, blobs: id === packId ? change(plain) : plain };
    });
    for (const f of await readdir(join(dir, 'index'))) await rm(join(dir, 'index', f));
    await repo.saveUnpacked('index', encodeIndexFile({ packs }));
  } finally {
    await repo.close();
  }
}

test('blobs the index places where they are not: each is verified from where the index says', async (t) => {
  const f = await buildRepository(t);
  const pack = smallBlobPack(f);
  let moved: PackedBlob | undefined;
  let follower: PackedBlob | undefined;
  // The last blob of the first read said to start 16 bytes later: a gap before it, and it
  // overlaps the next blob, which then needs bytes of two reads.
  await rewriteIndex(f.dir, pack, (blobs) => {
    const k = blobs.findLastIndex((b) => b.offset + b.length + 16 <= PIECE_BYTES);
    assert.ok(k > 0 && blobs[k + 1]!.offset + blobs[k + 1]!.length > PIECE_BYTES);
    moved = blobs[k] = { ...blobs[k]!, offset: blobs[k]!.offset + 16 };
    follower = blobs[k + 1];
    return blobs;
  });
  assert.deepEqual((await check(f.dir)).errors.sort(), [
    `pack ${pack}: blob ${moved!.id} is at a different position in the header than in the index`,
    `pack ${pack}: blob ${moved!.id}: ciphertext verification failed`,
    `pack ${pack}: blobs are not contiguous at offset ${moved!.offset - 16}`,
    `pack ${pack}: blobs are not contiguous at offset ${follower!.offset + 16}`,
  ].sort());
});
