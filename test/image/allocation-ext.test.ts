// ext2/3/4 allocation against real mke2fs images: the used set must equal the blocks dumpe2fs
// does not call free, and an image holding only those blocks must fsck clean with equal files.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { detectAllocation, type AllocationMap } from '../../src/image/allocation/index.js';
import { requireRoot, requireTools } from '../helpers/tools.js';
import {
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
  workspace,
} from './allocation-fixtures.js';

const imageBytes = 164 << 20;

/** Several groups per flex group and a short last group, so every kind of group occurs. */
const variants: Array<{ name: string; fs: string; args: string[]; uninit?: boolean }> = [
  { name: 'ext4 defaults, 4 KiB blocks', fs: 'ext4', uninit: true, args: ['-t', 'ext4', '-b', '4096', '-g', '2048'] },
  { name: 'ext4 -O ^64bit', fs: 'ext4', uninit: true, args: ['-t', 'ext4', '-b', '4096', '-g', '2048', '-O', '^64bit'] },
  { name: 'ext4 -O ^flex_bg', fs: 'ext4', uninit: true, args: ['-t', 'ext4', '-b', '4096', '-g', '2048', '-O', '^flex_bg'] },
  { name: 'ext4 -O ^metadata_csum,uninit_bg', fs: 'ext4', uninit: true, args: ['-t', 'ext4', '-b', '4096', '-g', '2048', '-O', '^metadata_csum,uninit_bg'] },
  { name: 'ext4 -b 1024', fs: 'ext4', uninit: true, args: ['-t', 'ext4', '-b', '1024'] },
  { name: 'ext4 meta_bg', fs: 'ext4', uninit: true, args: ['-t', 'ext4', '-b', '4096', '-g', '256', '-O', '^resize_inode,meta_bg'] },
  { name: 'ext4 sparse_super2', fs: 'ext4', uninit: true, args: ['-t', 'ext4', '-b', '4096', '-g', '2048', '-O', 'sparse_super2', '-E', 'num_backup_sb=2'] },
  { name: 'ext4 bigalloc', fs: 'ext4', args: ['-t', 'ext4', '-b', '4096', '-O', 'bigalloc', '-C', '65536'] },
  { name: 'ext3', fs: 'ext3', args: ['-t', 'ext3', '-b', '4096', '-g', '2048'] },
  { name: 'ext2', fs: 'ext2', args: ['-t', 'ext2', '-b', '1024'] },
];

function pairs(map: AllocationMap): Array<[number, number]> {
  return map.used.map((e) => [e.offset, e.length]);
}

for (const v of variants) {
  test(`${v.name}: used = not free per dumpe2fs; a copy of only those bytes fscks clean with identical files`, async (t) => {
    if (!requireRoot(t) || !requireTools(t, 'mke2fs', 'dumpe2fs', 'e2fsck', 'losetup', 'mount')) return;
    const { dir, cleanup } = await workspace(t);
    const image = join(dir, 'fs.img');
    const copy = join(dir, 'copy.img');
    const mnt = join(dir, 'mnt');
    await mkdir(mnt);
    await patternImage(image, imageBytes);
    run('mke2fs', '-q', '-F', '-E', 'nodiscard', ...v.args, image);

    const loop = cleanup.attach(image);
    const mount = cleanup.mount(loop.device, mnt);
    const files = await fillTree(mountedWriter(mnt));
    mount.unmount();
    loop.detach();
    assert.equal(runStatus('e2fsck', '-fn', image).status, 0, 'the original is clean');

    const map = await detectAllocation(await fileSource(t, image));
    assert.deepEqual(map.warnings, []);
    assert.equal(map.layout.length, 1);
    assert.deepEqual(
      { kind: map.layout[0]!.kind, fs: map.layout[0]!.kind === 'volume' ? map.layout[0]!.fs : undefined },
      { kind: 'volume', fs: v.fs },
    );
    const facts = dumpe2fs(image);
    if (v.uninit === true) assert.ok(facts.blockUninitGroups > 0, 'some groups are still BLOCK_UNINIT');
    assert.deepEqual(pairs(map), mergeRanges(ext2NotFree(facts)));
    assert.ok(map.usedBytes < imageBytes / 2, 'most of the image is free');

    await copyUsed(image, map, copy);
    const fsck = runStatus('e2fsck', '-fn', copy);
    assert.equal(fsck.status, 0, fsck.output);
    const copyLoop = cleanup.attach(copy);
    cleanup.mount(copyLoop.device, mnt, '-o', 'ro');
    assert.deepEqual(await hashTree(mnt), files);
    t.diagnostic(`${v.name}: used ${mib(map.usedBytes)} of ${mib(map.size)} in ${map.used.length} extents; metadata read ${map.metadataBytesRead} bytes`);
  });
}
