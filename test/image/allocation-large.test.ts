// A 4 GiB ext4 image: allocation reads only superblock, descriptors and the bitmaps that exist
// (tens of KiB in a handful of reads) and still matches dumpe2fs exactly.

import assert from 'node:assert/strict';
import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { detectAllocation, usedBlocks } from '../../src/image/allocation/index.js';
import { requireRoot, requireTools } from '../helpers/tools.js';
import { dumpe2fs, ext2NotFree, fileSource, fillTree, mergeRanges, mib, mountedWriter, run, workspace } from './allocation-fixtures.js';

test('4 GiB ext4: exact used set from the superblock, one descriptor block and the written bitmaps', async (t) => {
  if (!requireRoot(t) || !requireTools(t, 'mke2fs', 'dumpe2fs', 'losetup', 'mount')) return;
  const { dir, cleanup } = await workspace(t);
  const image = join(dir, 'big.img');
  await writeFile(image, '');
  await truncate(image, 4 * 2 ** 30);
  run('mke2fs', '-q', '-F', '-t', 'ext4', image);
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  const loop = cleanup.attach(image);
  // noinit_itable: no background zeroing of inode tables into the sparse file.
  const mount = cleanup.mount(loop.device, mnt, '-o', 'noinit_itable');
  await fillTree(mountedWriter(mnt), 2);
  mount.unmount();
  loop.detach();

  const src = await fileSource(t, image);
  const map = await detectAllocation(src);
  assert.deepEqual(map.warnings, []);
  const facts = dumpe2fs(image);
  assert.equal(facts.blockSize, 4096);
  assert.deepEqual(
    map.used.map((e) => [e.offset, e.length]),
    mergeRanges(ext2NotFree(facts)),
  );
  const groups = Math.ceil(facts.blockCount / 32768);
  // The first 4 KiB twice (disk, then volume), one descriptor block, and the bitmap of every
  // group that has one (BLOCK_UNINIT groups are computed, not read).
  assert.ok(facts.blockUninitGroups > 0);
  assert.equal(map.metadataBytesRead, 4096 * (3 + groups - facts.blockUninitGroups));
  assert.ok(src.reads <= 8, `${src.reads} reads`);

  const blocks = usedBlocks(map);
  t.diagnostic(
    `4 GiB ext4: used ${mib(map.usedBytes)} of ${mib(map.size)} in ${map.used.length} extents; ` +
      `metadata read ${map.metadataBytesRead} bytes in ${src.reads} reads; ${blocks.usedCount} of ${blocks.count} 1 MiB blocks used`,
  );
});
