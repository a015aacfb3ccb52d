// Image backups of ext4 file systems made by mke2fs and filled through a loop mount: only allocated
// blocks are read, restores fsck clean with identical files and equal restic's restore, a checksum
// incremental gives exactly the changed blocks the new generation, and a delta replays it.

import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { holdfast, ok } from '../helpers/cli.js';
import { requireRoot, requireTools } from '../helpers/tools.js';
import { dumpe2fs, ext2NotFree, fillTree, hashTree, mountedWriter, patternImage, run, runStatus, workspace, type Cleanup } from './allocation-fixtures.js';
import {
  differingBlocks,
  imageBackup,
  lastJson,
  loadImage,
  maskedCopy,
  MiB,
  newRepo,
  resticCheck,
  resticRestore,
  touchedBlocks,
} from './image-fixtures.js';

const imageBytes = 96 * MiB;

const variants = [
  { name: 'ext4 with 64bit and flex_bg', features: '64bit,flex_bg', blockSize: 256 * 1024, option: ['--block-size', '256K'] },
  { name: 'ext4 without 64bit and flex_bg', features: '^64bit,^flex_bg', blockSize: MiB, option: [] },
];

/** The blocks dumpe2fs does not list as free: what an image backup must read. */
function allocatedBlocks(image: string, blockSize: number): Set<number> {
  return touchedBlocks(ext2NotFree(dumpe2fs(image)), blockSize);
}

async function filesOf(cleanup: Cleanup, image: string, mnt: string): Promise<Map<string, string>> {
  const loop = cleanup.attach(image);
  const mount = cleanup.mount(loop.device, mnt, '-o', 'ro');
  const files = await hashTree(mnt);
  mount.unmount();
  loop.detach();
  return files;
}

function assertFsckClean(image: string): void {
  const r = runStatus('e2fsck', '-f', '-n', image);
  assert.equal(r.status, 0, `e2fsck found problems:\n${r.output}`);
}

for (const v of variants) {
  test(`${v.name}: full and checksum-incremental image backups, restores, generations and a delta`, async (t) => {
    if (!requireRoot(t) || !requireTools(t, 'mke2fs', 'dumpe2fs', 'e2fsck', 'losetup', 'mount', 'restic', 'cmp')) return;
    const { dir, cleanup } = await workspace(t);
    const image = join(dir, 'fs.img');
    const mnt = join(dir, 'mnt');
    await mkdir(mnt);
    // Free space holds a pattern, as a used disk holds old data: only allocated blocks may be kept.
    await patternImage(image, imageBytes);
    run('mke2fs', '-q', '-F', '-t', 'ext4', '-b', '4096', '-O', v.features, '-E', 'nodiscard,lazy_itable_init=0', image);
    let loop = cleanup.attach(image);
    let mount = cleanup.mount(loop.device, mnt);
    const files1 = await fillTree(mountedWriter(mnt));
    mount.unmount();
    loop.detach();

    const repo = await newRepo(dir);
    const used1 = allocatedBlocks(image, v.blockSize);
    const total = imageBytes / v.blockSize;
    const s1 = await imageBackup(repo, ['--image', image, '--name', 'fs', ...v.option]);
    assert.equal(s1.mode, 'full');
    assert.equal(s1.generation, 1);
    assert.equal(s1.blocks_total, total);
    assert.equal(s1.blocks_read, used1.size, 'exactly the allocated blocks are read');
    assert.equal(s1.bytes_read, used1.size * v.blockSize);
    assert.equal(s1.blocks_unused, total - used1.size);
    assert.ok(s1.blocks_read < total / 2, `a mostly empty file system is mostly not read (${s1.blocks_read} of ${total})`);
    assert.deepEqual(s1.warnings, []);

    const expected1 = join(dir, 'expected1.img');
    await maskedCopy(image, used1, v.blockSize, expected1);
    const restored1 = join(dir, 'restored1.img');
    await ok(holdfast(['-r', repo, 'restore-image', s1.snapshot_id, '--target', restored1]));
    run('cmp', restored1, expected1);
    assertFsckClean(restored1);
    assert.deepEqual(await filesOf(cleanup, restored1, mnt), files1);
    run('cmp', await resticRestore(repo, s1.snapshot_id, join(dir, 'restic1'), 'fs'), restored1);

    // Change some files: overwrite part of one, append to one, delete one, add one.
    loop = cleanup.attach(image);
    mount = cleanup.mount(loop.device, mnt);
    const names = [...files1.keys()].sort();
    const big = names.find((n) => n.startsWith('d1/f0-12'))!;
    const content = await readFile(join(mnt, big));
    content.fill(0x77, 100_000, 300_000);
    await writeFile(join(mnt, big), content);
    await writeFile(join(mnt, 'small-5.txt'), 'appended\n', { flag: 'a' });
    await rm(join(mnt, names.find((n) => n.startsWith('after-11'))!));
    await writeFile(join(mnt, 'new.bin'), Buffer.alloc(700_000, 0x42));
    const files2 = await hashTree(mnt);
    mount.unmount();
    loop.detach();

    const used2 = allocatedBlocks(image, v.blockSize);
    const s2 = await imageBackup(repo, ['--image', image, '--name', 'fs']);
    assert.equal(s2.mode, 'checksum');
    assert.equal(s2.generation, 2);
    assert.equal(s2.parent, s1.snapshot_id);
    assert.equal(s2.blocks_read, used2.size);
    const expected2 = join(dir, 'expected2.img');
    await maskedCopy(image, used2, v.blockSize, expected2);
    const changed = await differingBlocks(expected1, expected2, v.blockSize);
    assert.ok(changed.size > 0 && changed.size < used2.size);
    assert.equal(s2.blocks_changed, changed.size);

    const snapshot2 = await loadImage(t, repo, s2.snapshot_id);
    const wrong = [...snapshot2.directory.generations].flatMap((g, i) => ((g === 2) !== changed.has(i) ? [`block ${i}: generation ${g}`] : []));
    assert.deepEqual(wrong, [], 'the new generation is on exactly the changed blocks');

    const generations = lastJson<{ generations: { generation: number; changed_blocks: number; current_blocks: number; snapshot_id: string }[] }>(
      (await ok(holdfast(['-r', repo, '--json', 'image', 'generations', `${s2.snapshot_id}:fs`]))).stdout,
    ).generations;
    assert.deepEqual(
      generations.map((g) => [g.generation, g.changed_blocks, g.current_blocks, g.snapshot_id]),
      [
        [1, total, total - changed.size, s1.snapshot_id],
        [2, changed.size, changed.size, s2.snapshot_id],
      ],
    );
    const text = (await ok(holdfast(['-r', repo, 'image', 'generations', 'latest:fs']))).stdout;
    assert.match(text, new RegExp(`^\\s+2\\s+\\S+ \\S+\\s+checksum\\s+${changed.size}\\s+${changed.size}\\s+${s2.snapshot_id.slice(0, 8)}$`, 'm'));

    const restored2 = join(dir, 'restored2.img');
    await ok(holdfast(['-r', repo, 'restore-image', 'latest:fs', '--target', restored2]));
    run('cmp', restored2, expected2);
    assertFsckClean(restored2);
    assert.deepEqual(await filesOf(cleanup, restored2, mnt), files2);
    run('cmp', await resticRestore(repo, s2.snapshot_id, join(dir, 'restic2'), 'fs'), restored2);
    await resticCheck(repo);

    const delta = join(dir, 'gen2.delta');
    const exported = lastJson<{ blocks: number }>((await ok(holdfast(['-r', repo, '--json', 'image', 'delta', s2.snapshot_id, '--since-generation', '1', '-o', delta]))).stdout);
    assert.equal(exported.blocks, changed.size);
    const patched = join(dir, 'patched.img');
    await copyFile(restored1, patched);
    await ok(holdfast(['image', 'apply-delta', delta, '--target', patched]));
    run('cmp', patched, expected2);
    const again = lastJson<{ blocks_written: number; blocks_already_new: number }>((await ok(holdfast(['--json', 'image', 'apply-delta', delta, '--target', patched]))).stdout);
    assert.deepEqual([again.blocks_written, again.blocks_already_new], [0, changed.size], 'applying twice changes nothing');
  });
}

test('restore-image --grow into a larger file grows a whole-disk ext4 to fill it', async (t) => {
  if (!requireRoot(t) || !requireTools(t, 'mke2fs', 'dumpe2fs', 'e2fsck', 'resize2fs', 'losetup', 'mount')) return;
  const { dir, cleanup } = await workspace(t);
  const image = join(dir, 'fs.img');
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  await patternImage(image, 64 * MiB);
  run('mke2fs', '-q', '-F', '-t', 'ext4', '-b', '4096', '-E', 'nodiscard', image);
  const loop = cleanup.attach(image);
  const mount = cleanup.mount(loop.device, mnt);
  const files = await fillTree(mountedWriter(mnt), 0.5);
  mount.unmount();
  loop.detach();
  const repo = await newRepo(dir);
  const s = await imageBackup(repo, ['--image', image]);
  const target = join(dir, 'bigger.img');
  await writeFile(target, '');
  run('truncate', '-s', String(160 * MiB), target);
  const r = lastJson<{ grew: { volume: string; to: number }; target_size: number }>(
    (await ok(holdfast(['-r', repo, '--json', 'restore-image', s.snapshot_id, '--target', target, '--grow']))).stdout,
  );
  assert.equal(r.target_size, 160 * MiB);
  assert.equal(r.grew.volume, 'ext4 on the whole disk');
  assert.equal(dumpe2fs(target).blockCount, (160 * MiB) / 4096);
  assertFsckClean(target);
  assert.deepEqual(await filesOf(cleanup, target, mnt), files);
});
