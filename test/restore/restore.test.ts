// holdfast backs up the hard fixture tree and restores it to the byte and the nanosecond; subpaths,
// patterns, dry runs, unwritable targets and damaged packs behave as a restic user expects.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { execFileSync } from 'node:child_process';
import { holdfast, holdfastCommand, ok, run } from '../helpers/cli.js';
import { compareTrees } from '../helpers/compare-trees.js';
import { makeFixtureTree } from '../helpers/fixture-tree.js';
import { isRoot, requireTools } from '../helpers/tools.js';
import { backUp, firstBlobOf, summaryOf } from './harness.js';

test('the hard fixture tree comes back identical, with holes, hard links and nanosecond times', async (t) => {
  if (!requireTools(t, 'python3')) return;
  let tree: Awaited<ReturnType<typeof makeFixtureTree>> | undefined;
  const b = await backUp(t, async (src) => (tree = await makeFixtureTree(src)));
  const target = join(b.dir, 'out');
  const r = await ok(holdfast(['-r', b.repo, 'restore', 'latest', '--target', target, '--json']));
  const restored = join(target, b.src);
  assert.deepEqual(await compareTrees(b.src, restored), []);
  assert.equal(summaryOf(r).errors, 0);
  for (const sparse of tree!.sparseFiles) {
    const st = await stat(join(restored, sparse.toString()));
    assert.ok(st.blocks * 512 < st.size / 4, `${sparse} restored with holes (${st.blocks} blocks for ${st.size} bytes)`);
  }
  const zeros = await stat(join(restored, 'large/zeros-9MiB.bin'));
  assert.ok(zeros.blocks * 512 < 64 * 1024, 'an all-zero file takes no space');
  for (const group of tree!.hardLinkGroups) {
    const inodes = await Promise.all(group.map(async (p) => (await stat(join(restored, p.toString()))).ino));
    assert.equal(new Set(inodes).size, 1, `${group.join(', ')} are one file`);
  }
});

test('restoring into a non-empty target: --no-sparse writes zeros, --verify reads everything back', async (t) => {
  if (!requireTools(t, 'python3')) return;
  const b = await backUp(t, (src) => makeFixtureTree(src, { depth: 3, xattrs: false }));
  const target = join(b.dir, 'out');
  await mkdir(target);
  await writeFile(join(target, 'unrelated'), 'stays');
  const r = await ok(holdfast(['-r', b.repo, 'restore', 'latest', '--target', target, '--no-sparse', '--verify', '--json']));
  assert.ok((summaryOf(r).files_verified as number) > 10);
  assert.equal(await readFile(join(target, 'unrelated'), 'utf8'), 'stays');
  const zeros = await stat(join(target, b.src, 'large/zeros-9MiB.bin'));
  assert.ok(zeros.blocks * 512 >= zeros.size, 'with --no-sparse zeros are written');
  assert.deepEqual(await compareTrees(b.src, join(target, b.src), { xattrs: false }), []);
});

test('SNAPSHOT:SUBPATH restores the contents of a directory into the target', async (t) => {
  if (!requireTools(t, 'python3')) return;
  const b = await backUp(t, (src) => makeFixtureTree(src, { large: false, depth: 3 }));
  const target = join(b.dir, 'out');
  await ok(holdfast(['-r', b.repo, 'restore', `latest:${b.src}/names`, '--target', target]));
  // The subpath's own directory is the target: its metadata stays the target's.
  assert.deepEqual(await compareTrees(join(b.src, 'names'), target, { root: false }), []);
  const file = await holdfast(['-r', b.repo, 'restore', `latest:${b.src}/hello.txt`, '--target', join(b.dir, 'x')]);
  assert.equal(file.code, 1);
  assert.match(file.stderr, /hello\.txt" is a file, not a directory/);
  const missing = await holdfast(['-r', b.repo, 'restore', `latest:${b.src}/nope`, '--target', join(b.dir, 'y')]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /not found in snapshot/);
});

test('--include and --exclude select by the path inside the snapshot', async (t) => {
  if (!requireTools(t, 'python3')) return;
  const b = await backUp(t, (src) => makeFixtureTree(src, { large: false, depth: 3 }));
  const inc = join(b.dir, 'inc');
  await ok(holdfast(['-r', b.repo, 'restore', 'latest', '--target', inc, '--include', 'hardlinks', '--include', `${b.src}/links/to-hello`]));
  assert.deepEqual(await compareTrees(join(b.src, 'hardlinks'), join(inc, b.src, 'hardlinks')), []);
  await lstat(join(inc, b.src, 'links/to-hello'));
  await assert.rejects(lstat(join(inc, b.src, 'links/dangling')), { code: 'ENOENT' });
  await assert.rejects(lstat(join(inc, b.src, 'hello.txt')), { code: 'ENOENT' });
  // Directories on the way to a match get their metadata too.
  assert.equal((await stat(join(inc, b.src, 'links'))).mtimeMs, (await stat(join(b.src, 'links'))).mtimeMs);
  const exc = join(b.dir, 'exc');
  await ok(holdfast(['-r', b.repo, 'restore', 'latest', '--target', exc, '--exclude', 'names', '--exclude', '*.txt']));
  await assert.rejects(lstat(join(exc, b.src, 'names')), { code: 'ENOENT' });
  await assert.rejects(lstat(join(exc, b.src, 'hello.txt')), { code: 'ENOENT' });
  await lstat(join(exc, b.src, 'one-byte'));
  const both = await holdfast(['-r', b.repo, 'restore', 'latest', '--target', exc, '--exclude', 'a', '--include', 'b']);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /mutually exclusive/);
});

test('--dry-run reports what would happen and changes nothing', async (t) => {
  if (!requireTools(t, 'python3')) return;
  const b = await backUp(t, (src) => makeFixtureTree(src, { large: false, depth: 3 }));
  const target = join(b.dir, 'out');
  const fresh = summaryOf(await ok(holdfast(['-r', b.repo, 'restore', 'latest', '--target', target, '--dry-run', '--json'])));
  await assert.rejects(lstat(target), { code: 'ENOENT' }, 'not even the target is created');
  assert.equal(fresh.dry_run, true);
  assert.ok((fresh.files_restored as number) > 20);
  await ok(holdfast(['-r', b.repo, 'restore', 'latest', '--target', target]));
  await writeFile(join(target, b.src, 'extra'), 'not in the snapshot');
  await writeFile(join(target, b.src, 'hello.txt'), 'changed');
  const before = join(b.dir, 'before');
  execFileSync('cp', ['-a', target, before]);
  const again = await ok(holdfast(['-r', b.repo, 'restore', 'latest', '--target', target, '--dry-run', '--delete', '--json', '-vv']));
  assert.deepEqual(await compareTrees(before, target), []);
  assert.equal(summaryOf(again).files_deleted, 1);
  const items = again.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { message_type: string; action?: string; item?: string })
    .filter((m) => m.message_type === 'verbose_status');
  const actions = (action: string) => items.filter((m) => m.action === action).map((m) => m.item);
  assert.deepEqual(actions('updated'), [`${b.src}/hello.txt`], 'only the changed file would be written');
  assert.deepEqual(actions('deleted'), [`${b.src}/extra`]);
  assert.ok(actions('unchanged').length > 20);
});

test('a target that cannot be written is one line on stderr and exit code 1', async (t) => {
  if (isRoot && !requireTools(t, 'chattr')) return;
  const b = await backUp(t, async (src) => {
    await mkdir(src);
    await writeFile(join(src, 'f'), 'x');
  });
  const target = join(b.dir, 'locked');
  await mkdir(target);
  // Root ignores permission bits: only an immutable directory stops it.
  if (isRoot) execFileSync('chattr', ['+i', target]);
  else await chmod(target, 0o555);
  try {
    for (const where of [target, join(target, 'below')]) {
      const r = await holdfast(['-r', b.repo, 'restore', 'latest', '--target', where]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^holdfast: (target directory .* is not writable|cannot create target directory .*): /);
    }
  } finally {
    // The temp dir can only be removed once the directory is writable again.
    if (isRoot) execFileSync('chattr', ['-i', target]);
    else await chmod(target, 0o755);
  }
  const file = join(b.dir, 'a-file');
  await writeFile(file, '');
  const r = await holdfast(['-r', b.repo, 'restore', 'latest', '--target', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /exists and is not a directory/);
});

test('a damaged pack: the files using its broken blob are named and removed, all others are restored', async (t) => {
  const one = randomBytes(700_000);
  const b = await backUp(t, async (src) => {
    await mkdir(join(src, 'a'), { recursive: true });
    await mkdir(join(src, 'b'));
    await writeFile(join(src, 'a/one.bin'), one);
    await writeFile(join(src, 'b/same-as-one.bin'), one);
    await writeFile(join(src, 'b/two.bin'), randomBytes(300_000));
    await writeFile(join(src, 'c.txt'), 'small\n');
  });
  const blob = await firstBlobOf(b.repo, join(b.src, 'a/one.bin'));
  const handle = await open(blob.pack, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, blob.offset + 100);
  byte[0]! ^= 0xff;
  await handle.write(byte, 0, 1, blob.offset + 100);
  await handle.close();
  const target = join(b.dir, 'out');
  const r = await holdfast(['-r', b.repo, 'restore', 'latest', '--target', target]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /a\/one\.bin/);
  assert.match(r.stderr, /b\/same-as-one\.bin/, 'a file sharing the blob fails too');
  assert.match(r.stderr, /There were 2 errors/);
  assert.doesNotMatch(r.stderr, /two\.bin|c\.txt/);
  await assert.rejects(lstat(join(target, b.src, 'a/one.bin')), { code: 'ENOENT' }, 'no half-written file is left behind');
  await assert.rejects(lstat(join(target, b.src, 'b/same-as-one.bin')), { code: 'ENOENT' });
  assert.deepEqual(await readFile(join(target, b.src, 'b/two.bin')), await readFile(join(b.src, 'b/two.bin')));
  assert.equal(await readFile(join(target, b.src, 'c.txt'), 'utf8'), 'small\n');
});

test('a pack cut short: the files whose blobs are gone are named, the pack is named as truncated', async (t) => {
  const b = await backUp(t, async (src) => {
    await mkdir(src);
    await writeFile(join(src, 'one.bin'), randomBytes(700_000));
  });
  const blob = await firstBlobOf(b.repo, join(b.src, 'one.bin'));
  await truncate(blob.pack, blob.offset + 100);
  const target = join(b.dir, 'out');
  const r = await holdfast(['-r', b.repo, 'restore', 'latest', '--target', target]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /one\.bin/);
  assert.match(r.stderr, /is truncated/, r.stderr);
  await assert.rejects(lstat(join(target, b.src, 'one.bin')), { code: 'ENOENT' }, 'no half-written file is left behind');
});

test('thousands of tiny files in one pack restore under a limit of 100 open files', async (t) => {
  if (!requireTools(t, 'prlimit')) return;
  // Their blobs are a few dozen bytes each: one range read holds all of them.
  const b = await backUp(t, async (src) => {
    await mkdir(src);
    for (let d = 0; d < 10; d++) {
      await mkdir(join(src, `d${d}`));
      for (let f = 0; f < 300; f++) await writeFile(join(src, `d${d}`, `f${f}`), `${d}/${f}\n`);
    }
  });
  const target = join(b.dir, 'restored');
  const r = await run('prlimit', ['--nofile=100:100', '--', ...holdfastCommand(['-r', b.repo, 'restore', 'latest', '--target', target, '--json'])]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(summaryOf(r).files_restored, 3000);
  assert.deepEqual(await compareTrees(b.src, join(target, b.src)), []);
});
