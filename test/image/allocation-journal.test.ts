// ext4 images that still need journal recovery, as a copy of a mounted volume does: blocks that
// committed transactions allocate are used even though the bitmaps at home do not show them yet.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { detectAllocation } from '../../src/image/allocation/index.js';
import { requireRoot, requireTools } from '../helpers/tools.js';
import {
  bytesNotCovered,
  copyUsed,
  dumpe2fs,
  ext2NotFree,
  fileSource,
  fillTree,
  hashTree,
  mergeRanges,
  mib,
  mountedWriter,
  patternImage,
  run,
  runStatus,
  usedWithin,
  workspace,
} from './allocation-fixtures.js';

const MiB = 1 << 20;
const bs = 4096;
const jbd2Magic = Buffer.from([0xc0, 0x3b, 0x39, 0x98]);

function needsRecovery(image: string): boolean {
  return /^Filesystem features:.*\bneeds_recovery\b/m.test(run('dumpe2fs', '-h', image));
}

/** Replays the journal and nothing else, as the next mount would. */
function replay(image: string): void {
  const r = runStatus('e2fsck', '-E', 'journal_only', '-y', image);
  assert.ok(r.status <= 1, r.output);
  assert.equal(needsRecovery(image), false);
}

test('bitmaps in committed journal transactions count, including escaped ones', async (t) => {
  if (!requireRoot(t) || !requireTools(t, 'mke2fs', 'dumpe2fs', 'debugfs', 'e2fsck', 'losetup', 'mount')) return;
  const { dir, cleanup } = await workspace(t);
  const image = join(dir, 'fs.img');
  await patternImage(image, 64 * MiB);
  run('mke2fs', '-q', '-F', '-E', 'nodiscard', '-t', 'ext4', '-b', String(bs), '-g', '2048', image);
  // A mount turns on journal_checksum_v3 as the kernel uses it, so the tags are in that format.
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  const loop = cleanup.attach(image);
  const mount = cleanup.mount(loop.device, mnt);
  await fillTree(mountedWriter(mnt), 0.25);
  mount.unmount();
  loop.detach();

  const facts = dumpe2fs(image);
  const perGroup = 2048;
  const free0 = facts.free.find(([a, b]) => a < perGroup && b - a >= 16)!;
  const allocated = [free0[0], 16] as const;
  const groupB = facts.free.map(([a, b]) => [Math.ceil(a / perGroup), a, b] as const).find(([g, a, b]) => g > 0 && a === g * perGroup && b - a >= 32)![0];

  // Group 0's bitmap with 16 more blocks allocated, whose data is already in place.
  const fh = await open(image, 'r+');
  const data = randomBytes(allocated[1] * bs);
  const bitmap0 = Buffer.alloc(bs);
  try {
    await fh.write(data, 0, data.length, allocated[0] * bs);
    await fh.read(bitmap0, 0, bs, facts.blockBitmaps[0]! * bs);
  } finally {
    await fh.close();
  }
  for (let b = allocated[0]; b < allocated[0] + allocated[1]; b++) bitmap0[b >> 3]! |= 1 << (b & 7);
  // Group B's bitmap starting with the journal magic: the journal stores it escaped.
  const bitmapB = Buffer.alloc(bs);
  jbd2Magic.copy(bitmapB);
  await writeFile(join(dir, 'blocks.bin'), Buffer.concat([bitmap0, bitmapB]));
  await writeFile(join(dir, 'cmds'), `jo\njw -b ${facts.blockBitmaps[0]},${facts.blockBitmaps[groupB]} ${join(dir, 'blocks.bin')}\njc\n`);
  run('debugfs', '-w', '-f', join(dir, 'cmds'), image);
  assert.ok(needsRecovery(image));
  assert.match(run('debugfs', '-R', 'logdump -a', image), /logged at journal block \d+ \(flags 0x[0-9a-f]*[13579bdf]\)/, 'one block is escaped');

  const map = await detectAllocation(await fileSource(t, image));
  assert.deepEqual(map.warnings, []);
  const magicBits: Array<[number, number]> = [];
  for (let bit = 0; bit < 32; bit++) {
    if (jbd2Magic[bit >> 3]! & (1 << (bit & 7))) magicBits.push([(groupB * perGroup + bit) * bs, bs]);
  }
  const expected = mergeRanges([...ext2NotFree(dumpe2fs(image)), [allocated[0] * bs, allocated[1] * bs], ...magicBits]);
  assert.deepEqual(
    map.used.map((e) => [e.offset, e.length]),
    expected,
  );

  // After replay, the copy has the 16 blocks allocated and their data.
  const copy = join(dir, 'copy.img');
  await copyUsed(image, map, copy);
  replay(copy);
  // The replayed bitmap no longer matches its descriptor's checksum (only the bitmap was
  // journaled), so ask debugfs with checksums ignored.
  const testb = run('debugfs', '-n', '-R', `testb ${allocated[0]} ${allocated[1]}`, copy);
  assert.equal((testb.match(/marked in use/g) ?? []).length, allocated[1], testb);
  const check = await open(copy, 'r');
  try {
    const got = Buffer.alloc(data.length);
    await check.read(got, 0, got.length, allocated[0] * bs);
    assert.ok(got.equals(data), 'the data of the journaled allocation was copied');
  } finally {
    await check.close();
  }
  assert.equal(usedWithin(map, allocated[0] * bs, (allocated[0] + allocated[1]) * bs).length, 1);
});

test('a copy taken while mounted restores, after journal replay, to the files written', async (t) => {
  if (!requireRoot(t) || !requireTools(t, 'mke2fs', 'dumpe2fs', 'e2fsck', 'losetup', 'mount', 'sync')) return;
  const { dir, cleanup } = await workspace(t);
  const image = join(dir, 'fs.img');
  await patternImage(image, 96 * MiB);
  run('mke2fs', '-q', '-F', '-E', 'nodiscard', '-t', 'ext4', '-b', String(bs), '-g', '2048', image);
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  const loop = cleanup.attach(image);
  const mount = cleanup.mount(loop.device, mnt);
  const files = await fillTree(mountedWriter(mnt), 0.5);
  run('sync', '-f', mnt);
  const live = join(dir, 'live.img');
  await copyFile(image, live);
  mount.unmount();
  loop.detach();
  assert.ok(needsRecovery(live), 'a copy of a mounted ext4 needs recovery');
  const journalStart = Number(/^Journal start:\s+(\d+)/m.exec(run('dumpe2fs', '-h', live))![1]);

  const map = await detectAllocation(await fileSource(t, live));
  assert.deepEqual(map.warnings, []);

  const full = join(dir, 'full.img');
  await copyFile(live, full);
  replay(full);
  const missing = bytesNotCovered(mergeRanges(ext2NotFree(dumpe2fs(full))), map.used.map((e) => [e.offset, e.length]));
  assert.equal(missing, 0, 'every block in use after replay is in the used set');

  const copy = join(dir, 'copy.img');
  await copyUsed(live, map, copy);
  replay(copy);
  const fsck = runStatus('e2fsck', '-fn', copy);
  assert.equal(fsck.status, 0, fsck.output);
  const copyLoop = cleanup.attach(copy);
  cleanup.mount(copyLoop.device, mnt, '-o', 'ro');
  assert.deepEqual(await hashTree(mnt), files);
  t.diagnostic(`live copy: journal start ${journalStart}; used ${mib(map.usedBytes)} of ${mib(map.size)}; metadata read ${map.metadataBytesRead} bytes`);
});
