// A restore whose target disk fills up: each file that did not fit is named, the run exits
// non-zero, and once there is space the same command finishes, leaving what is whole alone.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { holdfast, ok, run } from '../helpers/cli.js';
import { compareTrees } from '../helpers/compare-trees.js';
import { requireRoot, requireTools } from '../helpers/tools.js';
import { backUp, summaryOf } from './harness.js';

const MiB = 1024 * 1024;

test('a restore onto a full disk names the files that did not fit, and completes once there is space', async (t) => {
  if (!requireRoot(t) || !requireTools(t, 'mount')) return;
  const b = await backUp(t, async (src) => {
    await mkdir(src, { recursive: true });
    for (let i = 0; i < 6; i++) await writeFile(join(src, `large-${i}`), randomBytes(5 * MiB));
    for (let i = 0; i < 20; i++) await writeFile(join(src, `small-${i}`), `small file ${i}\n`);
  });
  // Once seen in CI: the restore below found no snapshot. Say whether the backup's was listed.
  const listed = JSON.parse((await ok(holdfast(['-r', b.repo, 'snapshots', '--json']))).stdout) as unknown[];
  assert.equal(listed.length, 1, `snapshots/ holds: ${(await readdir(join(b.repo, 'snapshots'))).join(', ')}`);
  const disk = join(b.dir, 'disk');
  await mkdir(disk);
  await ok(run('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', disk]));
  try {
    const full = await holdfast(['-r', b.repo, 'restore', 'latest', '--target', disk]);
    assert.notEqual(full.code, 0, full.stderr);
    const failures = full.stderr.split('\n').filter((l) => l.includes('no space left on device'));
    assert.ok(failures.length > 0, `${full.stderr}snapshots/ holds: ${(await readdir(join(b.repo, 'snapshots'))).join(', ')}`);
    for (const line of failures) assert.match(line, /\/(large|small)-\d+: /, 'each failure names its file');
    assert.match(full.stderr, /^holdfast: There were \d+ errors$/m);

    await ok(run('mount', ['-o', 'remount,size=64m', disk]));
    const again = summaryOf(await ok(holdfast(['-r', b.repo, 'restore', 'latest', '--target', disk, '--json'])));
    assert.equal(again.errors, 0);
    // Each file is either found whole from the first run or written now.
    assert.equal(Number(again.files_unchanged) + Number(again.files_restored), 26, JSON.stringify(again));
    assert.deepEqual(await compareTrees(b.src, join(disk, b.src)), []);
  } finally {
    // Before the temp dir is removed (after-hooks run in order, and it was registered first).
    await run('umount', ['-l', disk]);
  }
});
