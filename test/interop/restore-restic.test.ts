// restic 0.14 backs up, holdfast restores: the fixture tree comes back identical, patterns select what
// restic's restore selects, and dump agrees with restic's dump.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { holdfast, ok, restic } from '../helpers/cli.js';
import { compareTrees } from '../helpers/compare-trees.js';
import { makeFixtureTree } from '../helpers/fixture-tree.js';
import { requireTools } from '../helpers/tools.js';
import { backUp } from '../restore/harness.js';

test('restic backs up the hard fixture tree and holdfast restores it identically', async (t) => {
  if (!requireTools(t, 'restic', 'python3')) return;
  // restic 0.14 stores symlink targets as Go strings: bytes that are not UTF-8 do not survive it.
  // restic 0.14 does not back up sockets at all.
  let sparse: readonly Buffer[] = [];
  const b = await backUp(t, async (src) => (sparse = (await makeFixtureTree(src, { sockets: true, binaryLinkTargets: false })).sparseFiles), 'restic');
  const target = join(b.dir, 'out');
  const r = await ok(holdfast(['-r', b.repo, 'restore', 'latest', '--target', target, '--json']));
  const restored = join(target, b.src);
  assert.deepEqual(await compareTrees(b.src, restored, { ignore: (_rel, info) => info.kind === 'socket' }), []);
  assert.match(r.stdout, /"errors":0\b/);
  for (const file of sparse) {
    const st = await stat(join(restored, file.toString()));
    assert.ok(st.blocks * 512 < st.size / 4, `${file} has holes`);
  }
});

test('include and exclude patterns select what restic restore selects', async (t) => {
  if (!requireTools(t, 'restic', 'python3')) return;
  const b = await backUp(t, (src) => makeFixtureTree(src, { large: false, depth: 4, binaryLinkTargets: false }), 'restic');
  const cases: string[][] = [
    ['--include', 'hardlinks'],
    ['--include', `${b.src}/links/to-*`],
    ['--include', '*.txt', '--include', 'one-byte'],
    ['--include', `${b.src}/deep/**/bottom.txt`],
    ['--exclude', 'names', '--exclude', '*.txt'],
    ['--exclude', `${b.src}/modes`],
    ['--iinclude', 'HELLO.TXT'],
    ['--iexclude', 'SPECIAL'],
  ];
  for (const [i, args] of cases.entries()) {
    const theirs = join(b.dir, `restic-${i}`);
    const ours = join(b.dir, `holdfast-${i}`);
    await ok(restic(['-r', b.repo, 'restore', 'latest', '--target', theirs, ...args]));
    await ok(holdfast(['-r', b.repo, 'restore', 'latest', '--target', ours, ...args]));
    // The two target directories themselves were made by each program.
    assert.deepEqual(await compareTrees(theirs, ours, { root: false }), [], args.join(' '));
  }
});

test('a subdirectory restored with SNAPSHOT:SUBPATH matches restic\'s restore of it with --include', async (t) => {
  if (!requireTools(t, 'restic', 'python3')) return;
  const b = await backUp(t, (src) => makeFixtureTree(src, { large: false, depth: 3, binaryLinkTargets: false }), 'restic');
  const theirs = join(b.dir, 'restic');
  const ours = join(b.dir, 'holdfast');
  await ok(restic(['-r', b.repo, 'restore', 'latest', '--target', theirs, '--include', `${b.src}/hardlinks`]));
  await ok(holdfast(['-r', b.repo, 'restore', `latest:${b.src}/hardlinks`, '--target', ours]));
  assert.deepEqual(await compareTrees(join(theirs, b.src, 'hardlinks'), ours, { root: false }), []);
});

test('dump agrees with restic dump: file bytes, and the entries of a tar', async (t) => {
  if (!requireTools(t, 'restic', 'python3', 'tar')) return;
  const b = await backUp(t, (src) => makeFixtureTree(src, { depth: 3, binaryLinkTargets: false }), 'restic');
  for (const file of ['large/text-12MiB.txt', 'large/sparse-64MiB.img', 'hello.txt']) {
    const theirs = await ok(restic(['-r', b.repo, 'dump', 'latest', join(b.src, file)]));
    const ours = await ok(holdfast(['-r', b.repo, 'dump', 'latest', join(b.src, file)]));
    assert.ok(ours.stdoutBytes.equals(theirs.stdoutBytes), file);
  }
  const names = async (run: typeof holdfast, file: string) => {
    const r = await ok(run(['-r', b.repo, 'dump', 'latest', b.src]));
    await writeFile(join(b.dir, file), r.stdoutBytes);
    return new Set(execFileSync('tar', ['-tf', join(b.dir, file)], { encoding: 'latin1' }).trim().split('\n'));
  };
  const theirs = await names(restic, 'restic.tar');
  const ours = await names(holdfast, 'holdfast.tar');
  // restic leaves fifos and devices out of its tar; holdfast keeps them, as tar can.
  assert.deepEqual([...theirs].filter((n) => !ours.has(n)), []);
  assert.deepEqual(
    [...ours].filter((n) => !theirs.has(n) && !/special\/(fifo|null-device|block-device)$/.test(n)),
    [],
  );
  const out = join(b.dir, 'untarred');
  await mkdir(out);
  execFileSync('tar', ['-C', out, '-xpf', join(b.dir, 'holdfast.tar')]);
  await stat(join(out, b.src, 'hello.txt'));
});
