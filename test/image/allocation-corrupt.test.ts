// Damaged metadata is never trusted: a bad ext superblock, descriptor or error state, an invalid
// FAT boot sector or unknown content means reading the volume in full, a bad bitmap its group.

import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { detectAllocation, type AllocationMap } from '../../src/image/allocation/index.js';
import { requireTools } from '../helpers/tools.js';
import { clip, dumpe2fs, ext2NotFree, fileSource, mergeRanges, patternImage, run, usedWithin, workspace } from './allocation-fixtures.js';

const MiB = 1 << 20;

async function patch(path: string, offset: number, edit: (b: Buffer) => void, length = 1): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(length);
    await fh.read(b, 0, length, offset);
    edit(b);
    await fh.write(b, 0, length, offset);
  } finally {
    await fh.close();
  }
}

async function extImage(t: TestContext, ...args: string[]): Promise<string | undefined> {
  if (!requireTools(t, 'mke2fs', 'dumpe2fs')) return undefined;
  const { dir } = await workspace(t);
  const image = join(dir, 'fs.img');
  await patternImage(image, 32 * MiB);
  run('mke2fs', '-q', '-F', '-E', 'nodiscard', '-b', '4096', '-g', '2048', ...args, image);
  return image;
}

function assertFull(map: AllocationMap, warning: RegExp): void {
  assert.deepEqual(map.used, [{ offset: 0, length: map.size }]);
  assert.equal(map.warnings.length, 1, map.warnings.join('\n'));
  assert.match(map.warnings[0]!, warning);
}

test('ext4 with a bad superblock checksum is read in full', async (t) => {
  const image = await extImage(t, '-t', 'ext4');
  if (image === undefined) return;
  await patch(image, 1024 + 0x78, (b) => (b[0] = 0x41));
  const map = await detectAllocation(await fileSource(t, image));
  assertFull(map, /^ext4 on disk: bad superblock checksum; reading it in full$/);
  assert.equal(map.layout[0]?.kind === 'volume' && map.layout[0].fs, 'ext4');
});

test('ext2 whose geometry does not add up is read in full', async (t) => {
  const image = await extImage(t, '-t', 'ext2');
  if (image === undefined) return;
  await patch(image, 1024, (b) => b.writeUInt32LE(b.readUInt32LE(0) + 8), 4);
  assertFull(await detectAllocation(await fileSource(t, image)), /^ext2 on disk: .*inodes.*; reading it in full$/);
});

test('a superblock without the ext magic makes an unknown volume, read in full', async (t) => {
  const image = await extImage(t, '-t', 'ext4');
  if (image === undefined) return;
  await patch(image, 1024 + 0x38, (b) => b.fill(0), 2);
  const map = await detectAllocation(await fileSource(t, image));
  assertFull(map, /^unknown file system on disk: no known signature; reading it in full$/);
  assert.equal(map.layout[0]?.kind === 'volume' && map.layout[0].fs, 'unknown');
});

test('ext4 marked as having errors is read in full', async (t) => {
  const image = await extImage(t, '-t', 'ext4');
  if (image === undefined || !requireTools(t, 'debugfs')) return;
  run('debugfs', '-w', '-R', 'ssv state 2', image);
  assertFull(await detectAllocation(await fileSource(t, image)), /^ext4 on disk: .*having errors.*; reading it in full$/);
});

test('ext4 with a damaged group descriptor is read in full', async (t) => {
  const image = await extImage(t, '-t', 'ext4');
  if (image === undefined) return;
  // Group 2's free inode count, in the descriptor table at block 1.
  await patch(image, 4096 + 2 * 64 + 0x0e, (b) => (b[0] = b[0]! ^ 0x10));
  assertFull(await detectAllocation(await fileSource(t, image)), /^ext4 on disk: bad checksum in the descriptor of group 2; reading it in full$/);
});

test('a block bitmap with a bad checksum makes only its group read in full', async (t) => {
  const image = await extImage(t, '-t', 'ext4');
  if (image === undefined) return;
  const facts = dumpe2fs(image);
  const groupBlocks = 2048 * 4096;
  // Mark the second half of group 2 used in its bitmap without updating the checksum.
  await patch(image, facts.blockBitmaps[2]! * 4096 + 128, (b) => b.fill(0xff), 128);
  const map = await detectAllocation(await fileSource(t, image));
  assert.deepEqual(map.warnings, ['ext4 on disk: bad block bitmap checksum in group(s) 2; reading those groups in full']);
  const exact = mergeRanges(ext2NotFree(facts));
  const [g2Start, g2End] = [2 * groupBlocks, 3 * groupBlocks];
  assert.deepEqual(usedWithin(map, 0, g2Start), clip(exact, 0, g2Start));
  assert.deepEqual(usedWithin(map, g2Start, g2End), [[g2Start, groupBlocks]]);
  assert.deepEqual(usedWithin(map, g2End, map.size), clip(exact, g2End, map.size));
});

test('FAT whose boot sector claims more sectors than the volume has is read in full', async (t) => {
  if (!requireTools(t, 'mkfs.fat')) return;
  const { dir } = await workspace(t);
  const image = join(dir, 'fat.img');
  await patternImage(image, 32 * MiB);
  run('mkfs.fat', '-F', '16', image);
  await patch(image, 0x20, (b) => b.writeUInt32LE(b.readUInt32LE(0) * 2), 4);
  await patch(image, 0x13, (b) => b.writeUInt16LE(0), 2);
  assertFull(await detectAllocation(await fileSource(t, image)), /^FAT on disk: a FAT boot sector that is not valid: it claims .* bytes but the volume has .*; reading it in full$/);
});

test('GPT with a damaged primary header is read through the backup', async (t) => {
  if (!requireTools(t, 'sgdisk', 'mke2fs')) return;
  const { dir } = await workspace(t);
  const image = join(dir, 'gpt.img');
  await patternImage(image, 40 * MiB);
  run('sgdisk', '-o', '-n', '1:2048:+30M', '-t', '1:8300', image);
  const fsImage = join(dir, 'part.img');
  await patternImage(fsImage, 30 * MiB);
  run('mke2fs', '-q', '-F', '-t', 'ext4', fsImage);
  run('dd', `if=${fsImage}`, `of=${image}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none');
  const intact = await detectAllocation(await fileSource(t, image));
  assert.deepEqual(intact.warnings, []);

  await patch(image, 512 + 0x20, (b) => (b[0] = b[0]! ^ 1));
  const map = await detectAllocation(await fileSource(t, image));
  assert.deepEqual(map.warnings, [`GPT: primary header: header CRC32 mismatch; using the backup at LBA ${40 * 2048 - 1}`]);
  assert.deepEqual(map.used, intact.used);
  assert.deepEqual(map.layout, intact.layout);

  const last = (40 * 2048 - 1) * 512;
  await patch(image, last + 0x20, (b) => (b[0] = b[0]! ^ 1));
  const none = await detectAllocation(await fileSource(t, image));
  assertFull(none, /^GPT: primary header: header CRC32 mismatch; backup header at LBA \d+: header CRC32 mismatch; reading the whole disk in full$/);
});
