// A repository disk that fills up during a backup: the run fails with one clear line, the
// repository stays valid for restic, and the next backup succeeds once there is space.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { holdfast, ok, restic, run } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireRoot, requireTools } from '../helpers/tools.js';

test('a full repository disk fails the backup cleanly and a later backup succeeds', async (t) => {
  if (!requireRoot(t) || !requireTools(t, 'restic', 'mount')) return;
  const dir = await tempDir(t);
  const mnt = join(dir, 'disk');
  await mkdir(mnt);
  await ok(run('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt]));
  try {
    await fillAndRecover(mnt, dir);
  } finally {
    // Before the temp dir is removed (after-hooks run in order, and it was registered first).
    await run('umount', ['-l', mnt]);
  }
});

async function fillAndRecover(mnt: string, dir: string): Promise<void> {
  const repo = join(mnt, 'repo');
  const src = join(dir, 'src');
  await mkdir(src);
  for (let i = 0; i < 8; i++) await writeFile(join(src, `f${i}`), randomBytes(5 * 1024 * 1024));
  await ok(holdfast(['-r', repo, 'init']));

  const full = await holdfast(['-r', repo, '--pack-size', '4', '--compression', 'off', 'backup', src]);
  assert.equal(full.code, 1, full.stderr);
  assert.match(full.stderr, /^holdfast: .*no space left on device$/m);
  assert.equal(full.stderr.trim().split('\n').filter((l) => l.startsWith('holdfast:')).length, 1);
  // Packs still being filled when the write failed are removed, not left holding the space.
  assert.deepEqual((await readdir(join(repo, 'data'))).filter((name) => name.endsWith('.tmp')), []);
  // Stored packs may fill the disk to its last page: no room for a lock file.
  assert.match((await ok(restic(['-r', repo, '--no-lock', 'check']))).stdout, /no errors were found/);

  await ok(run('mount', ['-o', 'remount,size=128m', mnt]));
  await ok(holdfast(['-r', repo, '--pack-size', '4', '--compression', 'off', 'backup', src]));
  assert.match((await ok(restic(['-r', repo, 'check', '--read-data']))).stdout, /no errors were found/);
}
