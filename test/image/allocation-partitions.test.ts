// Partitioned disks: a GPT disk (BIOS boot partition, ext4, a gap holding data, FAT32) and an MBR
// disk with primary and logical partitions. Tables and gaps are read, each file system exactly.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { detectAllocation, type AllocationMap, type VolumePart } from '../../src/image/allocation/index.js';
import { requireRoot, requireTools } from '../helpers/tools.js';
import {
  copyUsed,
  dumpe2fs,
  ext2NotFree,
  fatAccess,
  fileSource,
  fillFat,
  fillTree,
  fsckFat,
  hashTree,
  mergeRanges,
  mib,
  mountedWriter,
  patternImage,
  readFat,
  run,
  runStatus,
  usedWithin,
  workspace,
  type Cleanup,
  type FatAccess,
  type ImageRange,
} from './allocation-fixtures.js';

const MiB = 1 << 20;

/** Makes an ext file system in a range of the image, fills it, and returns its files' hashes. */
async function makeExt(cleanup: Cleanup, image: string, range: ImageRange, dir: string, ...args: string[]): Promise<Map<string, string>> {
  const loop = cleanup.attach(image, range);
  run('mke2fs', '-q', '-F', '-E', 'nodiscard', ...args, loop.device);
  const mnt = await mkdtemp(join(dir, 'mnt-'));
  const mount = cleanup.mount(loop.device, mnt);
  const files = await fillTree(mountedWriter(mnt), 0.5);
  mount.unmount();
  loop.detach();
  return files;
}

/** Checks an ext volume of `image` at `range`: exact used set, and (for the copy) clean with these files. */
async function checkExt(cleanup: Cleanup, map: AllocationMap, image: string, copy: string, range: ImageRange, dir: string, files: Map<string, string>): Promise<void> {
  const loop = cleanup.attach(image, range);
  const notFree = ext2NotFree(dumpe2fs(loop.device), range.offset);
  loop.detach();
  assert.deepEqual(usedWithin(map, range.offset, range.offset + range.length), mergeRanges(notFree));

  const copyLoop = cleanup.attach(copy, range);
  const fsck = runStatus('e2fsck', '-fn', copyLoop.device);
  assert.equal(fsck.status, 0, fsck.output);
  const mnt = await mkdtemp(join(dir, 'check-'));
  const mount = cleanup.mount(copyLoop.device, mnt, '-o', 'ro');
  assert.deepEqual(await hashTree(mnt), files);
  mount.unmount();
  copyLoop.detach();
}

/** Checks a FAT volume: data clusters as fsck.fat counts them, and the copy clean with these files. */
async function checkFat(access: FatAccess, cleanup: Cleanup, map: AllocationMap, image: string, copy: string, range: ImageRange, dir: string, files: Map<string, string>): Promise<void> {
  const loop = cleanup.attach(image, range);
  const facts = fsckFat(loop.device);
  loop.detach();
  assert.equal(facts.status, 0, facts.output);
  const dataStart = range.offset + facts.dataStart;
  const dataEnd = dataStart + facts.clusters * facts.clusterBytes;
  assert.deepEqual(usedWithin(map, range.offset, dataStart), [[range.offset, facts.dataStart]]);
  const dataUsed = usedWithin(map, dataStart, dataEnd).reduce((n, [, l]) => n + l, 0);
  assert.equal(dataUsed, facts.usedClusters * facts.clusterBytes);

  const copyLoop = cleanup.attach(copy, range);
  const copyFacts = fsckFat(copyLoop.device);
  copyLoop.detach();
  assert.equal(copyFacts.status, 0, copyFacts.output);
  assert.deepEqual(await readFat(access, cleanup, copy, dir, range), files);
}

async function readRange(path: string, range: ImageRange): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(range.length);
    await fh.read(buf, 0, range.length, range.offset);
    return buf;
  } finally {
    await fh.close();
  }
}

async function writeRange(path: string, offset: number, data: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(data, 0, data.length, offset);
  } finally {
    await fh.close();
  }
}

function volumes(map: AllocationMap): VolumePart[] {
  return map.layout.filter((p): p is VolumePart => p.kind === 'volume');
}

test('GPT disk: tables, gaps and the BIOS boot partition are read; ext4 and FAT32 partitions exactly', async (t) => {
  const access = fatAccess(t);
  if (access === undefined || !requireRoot(t) || !requireTools(t, 'sgdisk', 'mke2fs', 'dumpe2fs', 'e2fsck', 'mkfs.fat', 'fsck.fat', 'losetup', 'mount')) return;
  const { dir, cleanup } = await workspace(t);
  const image = join(dir, 'gpt.img');
  await patternImage(image, 256 * MiB);
  const bios: ImageRange = { offset: 1 * MiB, length: 1 * MiB };
  const root: ImageRange = { offset: 2 * MiB, length: 150 * MiB };
  const gap: ImageRange = { offset: 152 * MiB, length: 1 * MiB };
  const esp: ImageRange = { offset: 153 * MiB, length: 100 * MiB };
  const sectors = (r: ImageRange): string => `${r.offset / 512}:${(r.offset + r.length) / 512 - 1}`;
  run('sgdisk', '-o', '-n', `1:${sectors(bios)}`, '-t', '1:ef02', '-c', '1:bios',
    '-n', `2:${sectors(root)}`, '-t', '2:8300', '-c', '2:root',
    '-n', `3:${sectors(esp)}`, '-t', '3:ef00', '-c', '3:esp', image);
  const bootCode = randomBytes(bios.length);
  await writeRange(image, bios.offset, bootCode);
  const gapBytes = randomBytes(gap.length);
  await writeRange(image, gap.offset, gapBytes);
  const rootFiles = await makeExt(cleanup, image, root, dir, '-t', 'ext4', '-b', '4096', '-g', '4096');
  const loop = cleanup.attach(image, esp);
  run('mkfs.fat', '-F', '32', loop.device);
  loop.detach();
  const espFiles = await fillFat(access, cleanup, image, dir, 0.5, esp);

  const map = await detectAllocation(await fileSource(t, image));
  assert.deepEqual(map.warnings, ['unknown file system on partition 1: no known signature; reading it in full']);
  assert.deepEqual(
    volumes(map).map((v) => [v.name, v.fs, v.offset, v.length, v.label, v.partitionType]),
    [
      ['partition 1', 'unknown', bios.offset, bios.length, 'bios', '21686148-6449-6e6f-744e-656564454649'],
      ['partition 2', 'ext4', root.offset, root.length, 'root', '0fc63daf-8483-4772-8e79-3d69d8477de4'],
      ['partition 3', 'fat32', esp.offset, esp.length, 'esp', 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b'],
    ],
  );
  const tables = map.layout.filter((p) => p.kind === 'table').map((p) => p.kind === 'table' && p.table);
  assert.deepEqual(tables, ['protective-mbr', 'gpt', 'gpt', 'gpt-backup', 'gpt-backup']);
  // Everything outside the ext4 and FAT32 partitions is read.
  assert.deepEqual(usedWithin(map, 0, root.offset), [[0, root.offset]]);
  assert.deepEqual(usedWithin(map, gap.offset, esp.offset), [[gap.offset, gap.length]]);
  const end = esp.offset + esp.length;
  assert.deepEqual(usedWithin(map, end, map.size), [[end, map.size - end]]);

  const copy = join(dir, 'copy.img');
  await copyUsed(image, map, copy);
  const verify = runStatus('sgdisk', '-v', copy);
  assert.match(verify.output, /No problems found/);
  assert.ok((await readRange(copy, bios)).equals(bootCode), 'the BIOS boot partition survives');
  assert.ok((await readRange(copy, gap)).equals(gapBytes), 'data in the gap survives');
  await checkExt(cleanup, map, image, copy, root, dir, rootFiles);
  await checkFat(access, cleanup, map, image, copy, esp, dir, espFiles);
  t.diagnostic(`GPT disk: used ${mib(map.usedBytes)} of ${mib(map.size)} in ${map.used.length} extents; metadata read ${map.metadataBytesRead} bytes`);
});

test('MBR disk: primary and logical partitions, EBRs and gaps', async (t) => {
  const access = fatAccess(t);
  if (access === undefined || !requireRoot(t) || !requireTools(t, 'sfdisk', 'mke2fs', 'dumpe2fs', 'e2fsck', 'mkfs.fat', 'fsck.fat', 'losetup', 'mount')) return;
  const { dir, cleanup } = await workspace(t);
  const image = join(dir, 'mbr.img');
  await patternImage(image, 200 * MiB);
  const script = [
    'label: dos',
    'start=1MiB, size=40MiB, type=83',
    'start=43MiB, size=150MiB, type=5',
    'start=44MiB, size=60MiB, type=83',
    'start=106MiB, size=50MiB, type=6',
    '',
  ].join('\n');
  run('sh', '-c', 'sfdisk -q "$1" <<EOF\n' + script + 'EOF', 'sh', image);
  const table = JSON.parse(run('sfdisk', '-J', image)) as { partitiontable: { partitions: Array<{ node: string; start: number; size: number; type: string }> } };
  const parts = table.partitiontable.partitions.map((p) => ({ number: Number(/(\d+)$/.exec(p.node)![1]), range: { offset: p.start * 512, length: p.size * 512 }, type: p.type }));
  const byNumber = (n: number): ImageRange => parts.find((p) => p.number === n)!.range;
  const p1 = byNumber(1);
  const p5 = byNumber(5);
  const p6 = byNumber(6);
  const p1Files = await makeExt(cleanup, image, p1, dir, '-t', 'ext4', '-b', '1024');
  const p5Files = await makeExt(cleanup, image, p5, dir, '-t', 'ext3', '-b', '4096', '-g', '2048');
  const loop = cleanup.attach(image, p6);
  run('mkfs.fat', '-F', '16', loop.device);
  loop.detach();
  const p6Files = await fillFat(access, cleanup, image, dir, 0.5, p6);

  const map = await detectAllocation(await fileSource(t, image));
  assert.deepEqual(map.warnings, []);
  assert.deepEqual(
    volumes(map).map((v) => [v.name, v.fs, v.offset, v.length, v.partitionType]),
    [
      ['partition 1', 'ext4', p1.offset, p1.length, '0x83'],
      ['partition 5', 'ext3', p5.offset, p5.length, '0x83'],
      ['partition 6', 'fat16', p6.offset, p6.length, '0x06'],
    ],
  );
  const tables = map.layout.filter((p) => p.kind === 'table').map((p) => p.kind === 'table' && p.table);
  assert.deepEqual(tables, ['mbr', 'ebr', 'ebr']);

  const copy = join(dir, 'copy.img');
  await copyUsed(image, map, copy);
  assert.equal(run('sfdisk', '-d', copy).replaceAll(copy, 'IMG'), run('sfdisk', '-d', image).replaceAll(image, 'IMG'));
  await checkExt(cleanup, map, image, copy, p1, dir, p1Files);
  await checkExt(cleanup, map, image, copy, p5, dir, p5Files);
  await checkFat(access, cleanup, map, image, copy, p6, dir, p6Files);
  t.diagnostic(`MBR disk: used ${mib(map.usedBytes)} of ${mib(map.size)} in ${map.used.length} extents; metadata read ${map.metadataBytesRead} bytes`);
});

test('GPT with 4096-byte sectors', async (t) => {
  if (!requireRoot(t) || !requireTools(t, 'sgdisk', 'mke2fs', 'dumpe2fs', 'losetup')) return;
  const { dir, cleanup } = await workspace(t);
  const image = join(dir, 'gpt4k.img');
  await patternImage(image, 64 * MiB);
  const disk = cleanup.attach(image, undefined, 4096);
  run('sgdisk', '-o', '-n', '1:256:+40M', '-t', '1:8300', disk.device);
  disk.detach();
  const part: ImageRange = { offset: 1 * MiB, length: 40 * MiB };
  const loop = cleanup.attach(image, part);
  run('mke2fs', '-q', '-F', '-E', 'nodiscard', '-t', 'ext4', loop.device);
  const notFree = ext2NotFree(dumpe2fs(loop.device), part.offset);
  loop.detach();

  const map = await detectAllocation(await fileSource(t, image));
  assert.deepEqual(map.warnings, []);
  assert.deepEqual(
    map.layout.filter((p) => p.kind !== 'gap').map((p) => [p.kind === 'volume' ? p.fs : p.kind === 'table' ? p.table : '', p.offset, p.length]),
    [
      ['protective-mbr', 0, 4096],
      ['gpt', 4096, 4096],
      ['gpt', 8192, 16384],
      ['ext4', part.offset, part.length],
      ['gpt-backup', 64 * MiB - 5 * 4096, 16384],
      ['gpt-backup', 64 * MiB - 4096, 4096],
    ],
  );
  assert.deepEqual(usedWithin(map, part.offset, part.offset + part.length), mergeRanges(notFree));
});
