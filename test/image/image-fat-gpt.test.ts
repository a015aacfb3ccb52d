// Image backups of FAT32 (mkfs.fat, filled by mount or mtools) and of a GPT disk holding a FAT32 and
// an ext4 partition: allocated blocks only, clean and identical restores, and --grow of the last one.

import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { detectAllocation, usedBlocks } from '../../src/image/allocation/index.js';
import { holdfast, ok } from '../helpers/cli.js';
import { requireRoot, requireTools } from '../helpers/tools.js';
import {
  fatAccess,
  fileSource,
  fillFat,
  fillTree,
  fsckFat,
  hashTree,
  mountedWriter,
  mtoolsWriter,
  patternImage,
  readFat,
  run,
  runStatus,
  workspace,
  type Cleanup,
  type ImageRange,
} from './allocation-fixtures.js';
import { imageBackup, lastJson, maskedCopy, MiB, newRepo, resticCheck, resticRestore } from './image-fixtures.js';

/** The blocks detectAllocation calls used (itself checked against fsck.fat and dumpe2fs by the allocation tests). */
async function usedSet(t: test.TestContext, image: string, blockSize: number): Promise<Set<number>> {
  const used = usedBlocks(await detectAllocation(await fileSource(t, image)), blockSize);
  return new Set(Array.from({ length: used.count }, (_, i) => i).filter((i) => used.has(i)));
}

test('FAT32: allocated blocks only, fsck.fat-clean restore with identical files, incremental and delta', async (t) => {
  const access = fatAccess(t);
  if (access === undefined || !requireTools(t, 'mkfs.fat', 'fsck.fat', 'restic', 'cmp')) return;
  const { dir, cleanup } = await workspace(t);
  const image = join(dir, 'fat.img');
  const blockSize = 64 * 1024;
  await patternImage(image, 64 * MiB);
  run('mkfs.fat', '-F', '32', '-s', '1', image);
  const files1 = await fillFat(access, cleanup, image, dir, 0.5);
  const repo = await newRepo(dir);
  const used1 = await usedSet(t, image, blockSize);
  const s1 = await imageBackup(repo, ['--image', image, '--block-size', '64K']);
  assert.equal(s1.blocks_read, used1.size);
  assert.ok(s1.blocks_read < s1.blocks_total / 2, `${s1.blocks_read} of ${s1.blocks_total} blocks read`);
  assert.equal(s1.layout, 'fat32 on disk');

  const restored1 = join(dir, 'restored1.img');
  await ok(holdfast(['-r', repo, 'restore-image', s1.snapshot_id, '--target', restored1]));
  const expected1 = join(dir, 'expected1.img');
  await maskedCopy(image, used1, blockSize, expected1);
  run('cmp', restored1, expected1);
  assert.equal(fsckFat(restored1).status, 0, fsckFat(restored1).output);
  assert.deepEqual(await readFat(access, cleanup, restored1, dir), files1);
  run('cmp', await resticRestore(repo, s1.snapshot_id, join(dir, 'restic1'), 'fat.img'), restored1);

  // Through mtools whatever the kernel supports: one file more, one less.
  const writer = mtoolsWriter(image, await mkdtemp(join(dir, 'stage-')));
  await writer.write('added.bin', Buffer.alloc(300_000, 0x61));
  await writer.remove([...files1.keys()].find((k) => k.startsWith('after-12'))!);
  const s2 = await imageBackup(repo, ['--image', image]);
  assert.equal(s2.mode, 'checksum');
  assert.equal(s2.generation, 2);
  assert.ok(s2.blocks_changed > 0 && s2.blocks_changed < s2.blocks_read);
  const restored2 = join(dir, 'restored2.img');
  await ok(holdfast(['-r', repo, 'restore-image', 'latest', '--target', restored2]));
  assert.equal(fsckFat(restored2).status, 0);
  const files2 = await readFat(access, cleanup, restored2, dir);
  assert.equal(files2.size, files1.size);
  assert.ok(files2.has('added.bin'));
  const delta = join(dir, 'd.delta');
  await ok(holdfast(['-r', repo, 'image', 'delta', 'latest', '--since-generation', '1', '-o', delta]));
  await ok(holdfast(['image', 'apply-delta', delta, '--target', restored1]));
  run('cmp', restored1, restored2);
  await resticCheck(repo);
});

/** Makes an ext4 in a range of the image through a loop device, fills it, returns its files. */
async function makeExt4(cleanup: Cleanup, image: string, range: ImageRange, dir: string): Promise<Map<string, string>> {
  const loop = cleanup.attach(image, range);
  run('mke2fs', '-q', '-F', '-t', 'ext4', '-b', '4096', '-E', 'nodiscard', loop.device);
  const mnt = await mkdtemp(join(dir, 'mnt-'));
  const mount = cleanup.mount(loop.device, mnt);
  const files = await fillTree(mountedWriter(mnt), 0.5);
  mount.unmount();
  loop.detach();
  return files;
}

/** fsck and files of an ext4 in a range of an image. */
async function checkExt4(cleanup: Cleanup, image: string, range: ImageRange, dir: string): Promise<{ files: Map<string, string>; blocks: number }> {
  const loop = cleanup.attach(image, range);
  const fsck = runStatus('e2fsck', '-fn', loop.device);
  assert.equal(fsck.status, 0, fsck.output);
  const blocks = Number(/^Block count:\s+(\d+)/m.exec(run('dumpe2fs', '-h', loop.device))![1]);
  const mnt = await mkdtemp(join(dir, 'check-'));
  const mount = cleanup.mount(loop.device, mnt, '-o', 'ro');
  const files = await hashTree(mnt);
  mount.unmount();
  loop.detach();
  return { files, blocks };
}

test('GPT disk with a FAT32 and an ext4 partition: backup, identical restores, and --grow of the ext4', async (t) => {
  const access = fatAccess(t);
  if (access === undefined || !requireRoot(t) || !requireTools(t, 'sgdisk', 'sfdisk', 'mke2fs', 'e2fsck', 'resize2fs', 'mkfs.fat', 'fsck.fat', 'losetup', 'mount', 'restic')) return;
  const { dir, cleanup } = await workspace(t);
  const image = join(dir, 'disk.img');
  await patternImage(image, 144 * MiB);
  const esp: ImageRange = { offset: 1 * MiB, length: 40 * MiB };
  const root: ImageRange = { offset: 41 * MiB, length: 100 * MiB };
  const sectors = (r: ImageRange): string => `${r.offset / 512}:${(r.offset + r.length) / 512 - 1}`;
  run('sgdisk', '-o', '-n', `1:${sectors(esp)}`, '-t', '1:ef00', '-c', '1:esp', '-n', `2:${sectors(root)}`, '-t', '2:8300', '-c', '2:root', image);
  const loop = cleanup.attach(image, esp);
  run('mkfs.fat', '-F', '32', '-s', '1', loop.device);
  loop.detach();
  const espFiles = await fillFat(access, cleanup, image, dir, 0.3, esp);
  const rootFiles = await makeExt4(cleanup, image, root, dir);

  const blockSize = 256 * 1024;
  const repo = await newRepo(dir);
  const used = await usedSet(t, image, blockSize);
  const s = await imageBackup(repo, ['--image', image, '--block-size', '256K']);
  assert.equal(s.layout, 'gpt: fat32 on partition 1, ext4 on partition 2');
  assert.equal(s.blocks_read, used.size);
  assert.ok(s.blocks_read < s.blocks_total / 2);

  const restored = join(dir, 'restored.img');
  await ok(holdfast(['-r', repo, 'restore-image', s.snapshot_id, '--target', restored]));
  const expected = join(dir, 'expected.img');
  await maskedCopy(image, used, blockSize, expected);
  run('cmp', restored, expected);
  assert.match(run('sgdisk', '-v', restored), /No problems found/);
  assert.deepEqual((await checkExt4(cleanup, restored, root, dir)).files, rootFiles);
  assert.deepEqual(await readFat(access, cleanup, restored, dir, esp), espFiles);
  run('cmp', await resticRestore(repo, s.snapshot_id, join(dir, 'restic'), 'disk.img'), restored);
  await resticCheck(repo);

  const bigger = join(dir, 'bigger.img');
  await writeFile(bigger, '');
  run('truncate', '-s', String(208 * MiB), bigger);
  const r = lastJson<{ grew: { volume: string; from: number; to: number } }>(
    (await ok(holdfast(['-r', repo, '--json', 'restore-image', s.snapshot_id, '--target', bigger, '--grow']))).stdout,
  );
  assert.equal(r.grew.volume, 'ext4 on partition 2');
  assert.equal(r.grew.from, root.length);
  assert.ok(r.grew.to > root.length + 60 * MiB, `partition 2 grew to ${r.grew.to} bytes`);
  assert.match(run('sgdisk', '-v', bigger), /No problems found/);
  const grown = await checkExt4(cleanup, bigger, { offset: root.offset, length: r.grew.to }, dir);
  assert.equal(grown.blocks, Math.floor(r.grew.to / 4096), 'the file system fills the grown partition');
  assert.deepEqual(grown.files, rootFiles);
  assert.deepEqual(await readFat(access, cleanup, bigger, dir, esp), espFiles);
});
