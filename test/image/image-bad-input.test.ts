// What goes wrong around image backups: sources that cannot be read, an NBD server that dies during
// a backup, targets too small, a damaged block in the repository, an ext4 with a damaged superblock.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { HoldfastError } from '../../src/errors.js';
import { backupImage } from '../../src/image/index.js';
import { openRepository } from '../../src/repository/keys.js';
import { holdfast, ok, testEnv } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireRoot, requireTools } from '../helpers/tools.js';
import { startNbdkit } from '../nbd/peers.js';
import { patternImage, run, workspace } from './allocation-fixtures.js';
import { imageBackup, KiB, loadImage, MiB, newRepo, resticCheck, snapshotCount } from './image-fixtures.js';

const digest = async (path: string): Promise<string> => createHash('sha256').update(await readFile(path)).digest('hex');

test('sources that cannot be read fail with a reason and commit nothing', async (t) => {
  const dir = await tempDir(t);
  const repo = await newRepo(dir);
  const cases: Array<[string[], RegExp]> = [
    [['--image', join(dir, 'missing.img')], /image source \S+missing\.img does not exist/],
    [['--image', dir], /is a directory; back it up with "holdfast backup/],
    [['--image', `nbd+unix:///?socket=${join(dir, 'no.sock')}`, '--name', 'vm'], /cannot connect to NBD server at .*no such socket file/],
    [['--image', `nbd+unix:///?socket=${join(dir, 'no.sock')}`], /cannot connect to NBD server/],
    [['--image', join(dir, 'missing.img'), '--dirty-bitmap', 'b0'], /--dirty-bitmap needs an NBD source/],
    [['--name', 'x'], /need --image/],
    [['--image', join(dir, 'missing.img'), dir], /cannot be combined with paths/],
    [['--image', join(dir, 'missing.img'), '--block-size', '3K'], /does not exist|power of two/],
  ];
  for (const [args, pattern] of cases) {
    const r = await holdfast(['-r', repo, 'backup', ...args]);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, pattern);
  }
  const image = join(dir, 'disk.img');
  await writeFile(image, randomBytes(MiB));
  const badSize = await holdfast(['-r', repo, 'backup', '--image', image, '--block-size', '3K']);
  assert.match(badSize.stderr, /block size 3072 must be a power of two from 4 KiB to 64 MiB/);
  assert.equal(await snapshotCount(repo), 0);
});

test('an NBD server that disappears mid-backup: the run fails, nothing is committed, the next run completes', async (t) => {
  if (!requireTools(t, 'nbdkit', 'restic')) return;
  const dir = await tempDir(t);
  const repoDir = await newRepo(dir);
  const image = join(dir, 'disk.img');
  await writeFile(image, randomBytes(32 * MiB));
  // Small packs, so that some are uploaded before the server goes away and the next run reuses them.
  const repo = await openRepository(new LocalBackend(repoDir), testEnv.HOLDFAST_PASSWORD, { packSize: MiB });
  t.after(() => repo.close());
  const first = await startNbdkit(t, dir, ['-r', 'file', image]);
  let reads = 0;
  let killed: Promise<void> | undefined;
  const failed = backupImage(repo, {
    source: first.uri,
    name: 'vm',
    blockSize: 256 * KiB,
    blocksInFlight: 4,
    onEvent: (e) => {
      if (e.type === 'block' && ++reads === 40) killed = first.kill('SIGKILL');
    },
  });
  await assert.rejects(failed, (err: unknown) => err instanceof HoldfastError && err.code === 'ERR_NETWORK' && /NBD server at .* closed the connection/.test(err.message));
  await killed;
  assert.ok(reads < 128, `the backup stopped early (${reads} of 128 blocks read)`);
  assert.equal(await snapshotCount(repoDir), 0);

  const second = await startNbdkit(t, dir, ['-r', 'file', image]);
  const r = await imageBackup(repoDir, ['--image', second.uri, '--name', 'vm', '--block-size', '256K']);
  assert.equal(r.blocks_read, 128);
  assert.ok(r.blocks_stored < 128, `blocks stored by the failed run are not stored again (${r.blocks_stored} stored)`);
  assert.equal(await snapshotCount(repoDir), 1);
  const restored = join(dir, 'restored.img');
  await ok(holdfast(['-r', repoDir, 'restore-image', 'latest:vm', '--target', restored]));
  assert.equal(await digest(restored), await digest(image));
  await resticCheck(repoDir);
});

test('a target smaller than the image is refused before anything is written: a file and a loop device', async (t) => {
  const dir = await tempDir(t);
  const repo = await newRepo(dir);
  const image = join(dir, 'disk.img');
  await writeFile(image, randomBytes(4 * MiB));
  await imageBackup(repo, ['--image', image, '--block-size', '64K']);
  const small = join(dir, 'small.img');
  await writeFile(small, randomBytes(3 * MiB));
  const before = await digest(small);
  const r = await holdfast(['-r', repo, 'restore-image', 'latest', '--target', small]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /target \S+small\.img has 3145728 bytes, less than the image's 4194304: nothing was written/);
  assert.equal(await digest(small), before);
  const notFile = await holdfast(['-r', repo, 'restore-image', 'latest', '--target', dir]);
  assert.match(notFile.stderr, /is neither a regular file nor a block device/);

  if (!requireRoot(t) || !requireTools(t, 'losetup')) return;
  const device = run('losetup', '--find', '--show', small).trim();
  t.after(() => run('losetup', '-d', device));
  const onDevice = await holdfast(['-r', repo, 'restore-image', 'latest', '--target', device]);
  assert.equal(onDevice.code, 1);
  assert.match(onDevice.stderr, new RegExp(`target ${device} has 3145728 bytes, less than the image's 4194304`));
  assert.equal(await digest(small), before);
});

test('a damaged block in the repository is named, the rest is restored, and the exit status says so', async (t) => {
  const dir = await tempDir(t);
  const repoDir = await newRepo(dir);
  const image = join(dir, 'disk.img');
  await writeFile(image, randomBytes(2 * MiB));
  const s = await imageBackup(repoDir, ['--image', image, '--block-size', '64K']);
  const snap = await loadImage(t, repoDir, s.snapshot_id);
  const r = await openRepository(new LocalBackend(repoDir), testEnv.HOLDFAST_PASSWORD);
  t.after(() => r.close());
  await r.loadIndex();
  const loc = r.index.lookup('data', snap.directory.contentId(7))!;
  const pack = join(repoDir, 'data', loc.packId.slice(0, 2), loc.packId);
  await chmod(pack, 0o600);
  const fh = await open(pack, 'r+');
  const byte = Buffer.alloc(1);
  await fh.read(byte, 0, 1, loc.offset + 40);
  byte[0] ^= 0xff;
  await fh.write(byte, 0, 1, loc.offset + 40);
  await fh.close();

  const restored = join(dir, 'restored.img');
  const res = await holdfast(['-r', repoDir, 'restore-image', 'latest', '--target', restored]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /1 block\(s\) of image "disk\.img" could not be restored .*block 7 \(bytes 458752 to 524288\), blob [0-9a-f]{12}/);
  const got = await readFile(restored);
  const want = await readFile(image);
  assert.ok(got.subarray(0, 7 * 64 * KiB).equals(want.subarray(0, 7 * 64 * KiB)), 'blocks before it are restored');
  assert.ok(got.subarray(8 * 64 * KiB).equals(want.subarray(8 * 64 * KiB)), 'blocks after it are restored');
});

test('an ext4 with a damaged superblock is read in full with a warning, and restores exactly', async (t) => {
  if (!requireTools(t, 'mke2fs', 'cmp')) return;
  const dir = await tempDir(t);
  const image = join(dir, 'fs.img');
  await patternImage(image, 16 * MiB);
  run('mke2fs', '-q', '-F', '-t', 'ext4', '-O', 'metadata_csum', '-E', 'nodiscard', image);
  // The volume name lies inside the checksummed superblock: changing it breaks the checksum.
  const fh = await open(image, 'r+');
  await fh.write(Buffer.from('damaged'), 0, 7, 1024 + 120);
  await fh.close();
  const repo = await newRepo(dir);
  const s = await imageBackup(repo, ['--image', image, '--block-size', '64K']);
  assert.equal(s.blocks_read, s.blocks_total, 'everything is read');
  assert.ok(s.warnings.some((w) => /ext4 on disk: .*superblock.*reading it in full/.test(w)), s.warnings.join('\n'));
  const restored = join(dir, 'restored.img');
  await ok(holdfast(['-r', repo, 'restore-image', 'latest', '--target', restored]));
  run('cmp', restored, image);
});

test('a mounted block device is refused as a restore target', async (t) => {
  if (!requireRoot(t) || !requireTools(t, 'losetup', 'mount', 'mke2fs')) return;
  const { dir, cleanup } = await workspace(t);
  const repo = await newRepo(dir);
  const image = join(dir, 'disk.img');
  await writeFile(image, randomBytes(4 * MiB));
  await imageBackup(repo, ['--image', image, '--block-size', '64K']);
  const fs = join(dir, 'fs.img');
  await patternImage(fs, 8 * MiB);
  run('mke2fs', '-q', '-F', '-t', 'ext4', fs);
  const loop = cleanup.attach(fs);
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  cleanup.mount(loop.device, mnt);
  const before = await digest(fs);
  const r = await holdfast(['-r', repo, 'restore-image', 'latest', '--target', loop.device]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`target ${loop.device} is mounted at ${mnt}: unmount it first`));
  assert.equal(await digest(fs), before);
});
