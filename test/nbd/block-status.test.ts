// Block status from real servers: holes and zeros of a sparse file via base:allocation, and the
// changed extents of a qcow2 persistent dirty bitmap via qemu-nbd -B and qemu:dirty-bitmap:NAME.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { promisify } from 'node:util';
import { HoldfastError } from '../../src/errors.js';
import { AllocationFlag, BASE_ALLOCATION, DIRTY_FLAG, dirtyBitmapContext } from '../../src/nbd/constants.js';
import type { NbdClient, NbdExtent } from '../../src/nbd/client.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { startNbdkit, startQemuNbd, type Peer } from './peers.js';

const run = promisify(execFile);
const KiB = 1024;
const MiB = 1024 * KiB;

/** A 32 MiB sparse file with data only at [4 MiB, +64 KiB) and [20 MiB, +128 KiB). */
const dataRanges = [
  { offset: 4 * MiB, length: 64 * KiB },
  { offset: 20 * MiB, length: 128 * KiB },
];

async function sparseFile(dir: string): Promise<string> {
  const path = join(dir, 'sparse.img');
  const file = await open(path, 'w');
  await file.truncate(32 * MiB);
  for (const r of dataRanges) await file.write(randomBytes(r.length), 0, r.length, r.offset);
  await file.close();
  return path;
}

async function collect(client: NbdClient, context: string): Promise<NbdExtent[]> {
  const all: NbdExtent[] = [];
  for await (const e of client.extents(context)) all.push(e);
  return all;
}

/** Extents must tile the export exactly: no gap, no overlap, nothing past the end. */
function assertTiles(extents: NbdExtent[], size: number): void {
  let at = 0;
  for (const e of extents) {
    assert.equal(e.offset, at, 'extents must be contiguous');
    assert.ok(e.length > 0);
    at += e.length;
  }
  assert.equal(at, size);
}

const sparseServers: Array<[string, string[], (t: test.TestContext, dir: string, file: string) => Promise<Peer>]> = [
  ['nbdkit file', ['nbdkit'], (t, dir, file) => startNbdkit(t, dir, ['-r', 'file', file])],
  ['qemu-nbd raw', ['qemu-nbd'], (t, dir, file) => startQemuNbd(t, dir, ['-r', '-f', 'raw', file])],
];

for (const [name, tools, start] of sparseServers) {
  test(`${name}: base:allocation reports the holes of a sparse file and reads of holes return zeros`, async (t) => {
    if (!requireTools(t, ...tools)) return;
    const dir = await tempDir(t);
    const file = await sparseFile(dir);
    const peer = await start(t, dir, file);
    const client = await peer.connect({ metaContexts: [BASE_ALLOCATION] });
    assert.deepEqual(client.metaContexts, [BASE_ALLOCATION]);

    const extents = await collect(client, BASE_ALLOCATION);
    assertTiles(extents, 32 * MiB);
    const allocated = extents.filter((e) => (e.flags & AllocationFlag.hole) === 0).map(({ offset, length }) => ({ offset, length }));
    assert.deepEqual(allocated, dataRanges);
    for (const e of extents) {
      if (e.flags & AllocationFlag.hole) assert.equal(e.flags & AllocationFlag.zero, AllocationFlag.zero, 'holes of a file read as zeros');
    }

    // A window starting inside the first data range: clipped to the request, flags per part.
    const window = await client.blockStatus(BASE_ALLOCATION, 4 * MiB + 100, 100_000);
    assert.deepEqual(window[0], { offset: 4 * MiB + 100, length: 64 * KiB - 100, flags: 0 });
    assert.ok(window.every((e) => e.offset + e.length <= 4 * MiB + 100 + 100_000));

    const content = await readFile(file);
    const whole = await client.read(0, client.size);
    assert.ok(whole.equals(content), 'the whole sparse image reads back as the file');
    // Into a dirty buffer, so a hole the client failed to zero would show.
    const reused = await client.readInto(8 * MiB - 4096, Buffer.alloc(MiB, 0xee));
    assert.ok(reused.equals(content.subarray(8 * MiB - 4096, 9 * MiB - 4096)));
  });
}

async function qcow2WithBitmap(dir: string, writes: string[]): Promise<string> {
  const img = join(dir, 'disk.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', img, '64M']);
  await run('qemu-img', ['bitmap', '--add', img, 'b0']);
  for (const w of writes) await run('qemu-io', ['-c', w, img]);
  return img;
}

test('qemu dirty bitmap: exactly the extents written after the bitmap was added are dirty', async (t) => {
  if (!requireTools(t, 'qemu-img', 'qemu-io', 'qemu-nbd')) return;
  const dir = await tempDir(t);
  const img = await qcow2WithBitmap(dir, ['write -P 0xab 1M 64k', 'write -P 0xcd 10M 192k']);
  // Read-only: qemu 7.2 exports an enabled persistent bitmap from a read-only qemu-nbd too.
  const peer = await startQemuNbd(t, dir, ['-r', '-f', 'qcow2', '-x', 'vm', '-B', 'b0', img], { exportName: 'vm' });
  const context = dirtyBitmapContext('b0');
  assert.equal(context, 'qemu:dirty-bitmap:b0');
  const client = await peer.connect({ metaContexts: [context] });
  assert.deepEqual(client.metaContexts, [context]);

  const extents = await collect(client, context);
  assertTiles(extents, 64 * MiB);
  const dirty = extents.filter((e) => e.flags & DIRTY_FLAG).map(({ offset, length }) => ({ offset, length }));
  assert.deepEqual(dirty, [
    { offset: 1 * MiB, length: 64 * KiB },
    { offset: 10 * MiB, length: 192 * KiB },
  ]);
  assert.ok((await client.read(1 * MiB, 64 * KiB)).equals(Buffer.alloc(64 * KiB, 0xab)));
  assert.ok((await client.read(10 * MiB + 64 * KiB, 4 * KiB)).equals(Buffer.alloc(4 * KiB, 0xcd)));
});

test('with base:allocation and a dirty bitmap both selected, each query answers for its own context', async (t) => {
  if (!requireTools(t, 'qemu-img', 'qemu-io', 'qemu-nbd')) return;
  const dir = await tempDir(t);
  const img = join(dir, 'disk.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', img, '64M']);
  // Written before the bitmap exists: allocated, but not dirty.
  await run('qemu-io', ['-c', 'write -P 0x11 0 1M', img]);
  await run('qemu-img', ['bitmap', '--add', img, 'b0']);
  await run('qemu-io', ['-c', 'write -P 0x22 32M 64k', img]);
  const peer = await startQemuNbd(t, dir, ['-f', 'qcow2', '-B', 'b0', img]);
  const client = await peer.connect({ metaContexts: ['base:allocation', 'qemu:dirty-bitmap:b0'] });

  const allocated = (await collect(client, 'base:allocation')).filter((e) => (e.flags & AllocationFlag.hole) === 0);
  assert.deepEqual(allocated.map(({ offset, length }) => ({ offset, length })), [
    { offset: 0, length: 1 * MiB },
    { offset: 32 * MiB, length: 64 * KiB },
  ]);
  const dirty = (await collect(client, 'qemu:dirty-bitmap:b0')).filter((e) => e.flags & DIRTY_FLAG);
  assert.deepEqual(dirty.map(({ offset, length }) => ({ offset, length })), [{ offset: 32 * MiB, length: 64 * KiB }]);
  // A sub-range walk starts and ends where asked.
  const part: NbdExtent[] = [];
  for await (const e of client.extents('qemu:dirty-bitmap:b0', { offset: 32 * MiB + 4096, length: 8192 })) part.push(e);
  assert.deepEqual(part, [{ offset: 32 * MiB + 4096, length: 8192, flags: DIRTY_FLAG }]);
});

test('a bitmap the server does not export fails the connection with a hint to use -B', async (t) => {
  if (!requireTools(t, 'qemu-img', 'qemu-io', 'qemu-nbd')) return;
  const dir = await tempDir(t);
  const img = await qcow2WithBitmap(dir, []);
  const peer = await startQemuNbd(t, dir, ['-f', 'qcow2', '-x', 'vm', '-B', 'b0', img], { exportName: 'vm' });
  await assert.rejects(peer.connect({ metaContexts: ['base:allocation', 'qemu:dirty-bitmap:foo'] }), (err: unknown) => {
    assert.ok(err instanceof HoldfastError);
    assert.equal(err.code, 'ERR_NOT_FOUND');
    assert.match(err.message, /^bitmap foo is not exported by the NBD server at nbd\+unix:\/\/\/vm\?socket=\S+ /);
    assert.match(err.message, /it offers: .*qemu:dirty-bitmap:b0/);
    assert.match(err.message, /start qemu-nbd with -B foo$/);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
  // The refused handshake ended politely: the server still serves a correct request.
  const client = await peer.connect({ metaContexts: ['qemu:dirty-bitmap:b0'] });
  assert.deepEqual(await collect(client, 'qemu:dirty-bitmap:b0'), [{ offset: 0, length: 64 * MiB, flags: 0 }]);
});

test('nbdkit has no dirty bitmaps: asking for one names what it does offer', async (t) => {
  if (!requireTools(t, 'nbdkit')) return;
  const dir = await tempDir(t);
  const peer = await startNbdkit(t, dir, ['memory', '16M']);
  await assert.rejects(
    peer.connect({ metaContexts: ['qemu:dirty-bitmap:b0'] }),
    /^HoldfastError: bitmap b0 is not exported by the NBD server at \S+ \(it offers: base:allocation\); start qemu-nbd with -B b0$/,
  );
  const client = await peer.connect({ metaContexts: ['base:allocation'] });
  await assert.rejects(client.blockStatus('qemu:dirty-bitmap:b0', 0, 4096), /was not negotiated .*negotiated: base:allocation/);
});
