// Restoring over what is already in the target, with restic 0.17's --overwrite modes and --delete:
// which files are left alone, which are rewritten (only where they differ), which are replaced.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { holdfast, ok } from '../helpers/cli.js';
import { compareTrees } from '../helpers/compare-trees.js';
import { backUp, type BackedUp, copyTimes, summaryOf } from './harness.js';

// Bigger than the largest chunk (8 MiB): random content could otherwise be a single blob, and
// the test of rewriting only the changed blob would have nothing to tell apart.
const big = randomBytes(12 * 1024 * 1024 + 123);

/** A restored tree, then changed: f1 same size and mtime, f2 other size, big.bin a few bytes in the middle. */
async function restoredAndChanged(t: TestContext): Promise<BackedUp & { target: string; out: string }> {
  const b = await backUp(t, async (src) => {
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'f1'), 'one');
    await writeFile(join(src, 'f2'), 'two');
    await writeFile(join(src, 'big.bin'), big);
    await writeFile(join(src, 'sub/f3'), 'three');
  });
  const target = join(b.dir, 'target');
  await ok(holdfast(['-r', b.repo, 'restore', 'latest', '--target', target]));
  const out = join(target, b.src);
  await writeFile(join(out, 'f1'), 'ONE');
  await copyTimes(join(b.src, 'f1'), join(out, 'f1'));
  await writeFile(join(out, 'f2'), 'changed two');
  const handle = await open(join(out, 'big.bin'), 'r+');
  await handle.write(Buffer.from('XXXXXXXX'), 0, 8, 2_000_000);
  await handle.close();
  await copyTimes(join(b.src, 'big.bin'), join(out, 'big.bin'));
  await writeFile(join(out, 'extra'), 'not in the snapshot');
  await mkdir(join(out, 'sub/extra-dir'));
  await writeFile(join(out, 'sub/extra-dir/inside'), 'x');
  return { ...b, target, out };
}

async function restore(b: BackedUp & { target: string }, ...args: string[]): Promise<Record<string, number | boolean>> {
  return summaryOf(await ok(holdfast(['-r', b.repo, 'restore', 'latest', '--target', b.target, '--json', ...args])));
}

test('--overwrite never leaves every existing file alone', async (t) => {
  const b = await restoredAndChanged(t);
  const s = await restore(b, '--overwrite', 'never');
  assert.equal(await readFile(join(b.out, 'f1'), 'utf8'), 'ONE');
  assert.equal(await readFile(join(b.out, 'f2'), 'utf8'), 'changed two');
  assert.equal(s.files_restored, 0);
  assert.equal(s.files_skipped, 4);
  assert.equal(s.bytes_restored, 0);
});

test('--overwrite if-newer replaces only files older than the snapshot\'s', async (t) => {
  const b = await restoredAndChanged(t);
  // f2 was just written, so it is newer than its snapshot copy: kept.
  await restore(b, '--overwrite', 'if-newer');
  assert.equal(await readFile(join(b.out, 'f2'), 'utf8'), 'changed two');
  await utimes(join(b.out, 'f2'), new Date('2000-01-01'), new Date('2000-01-01'));
  const s = await restore(b, '--overwrite', 'if-newer');
  assert.equal(await readFile(join(b.out, 'f2'), 'utf8'), 'two');
  // Same mtime as the snapshot's is not newer.
  assert.equal(await readFile(join(b.out, 'f1'), 'utf8'), 'ONE');
  assert.equal(s.files_restored, 1);
});

test('--overwrite if-changed trusts size and mtime, and rewrites the rest where it differs', async (t) => {
  const b = await restoredAndChanged(t);
  const s = await restore(b, '--overwrite', 'if-changed');
  assert.equal(await readFile(join(b.out, 'f1'), 'utf8'), 'ONE', 'same size and mtime: not read, as restic does');
  assert.notDeepEqual(await readFile(join(b.out, 'big.bin')), big);
  assert.equal(await readFile(join(b.out, 'f2'), 'utf8'), 'two');
  assert.equal(s.files_restored, 1);
  assert.equal(s.files_unchanged, 3);
});

test('--overwrite always compares content blob by blob and rewrites only what differs, in place', async (t) => {
  const b = await restoredAndChanged(t);
  const inode = (await stat(join(b.out, 'big.bin'))).ino;
  const s = await restore(b, '--overwrite', 'always');
  assert.deepEqual(await readFile(join(b.out, 'big.bin')), big);
  assert.equal((await stat(join(b.out, 'big.bin'))).ino, inode, 'updated in place');
  assert.equal(await readFile(join(b.out, 'f1'), 'utf8'), 'one');
  assert.equal(await readFile(join(b.out, 'f2'), 'utf8'), 'two');
  assert.equal(s.files_restored, 3);
  assert.equal(s.files_unchanged, 1);
  assert.ok((s.bytes_restored as number) < big.length, `only changed blobs are written (${s.bytes_restored} bytes)`);
  assert.deepEqual(await compareTrees(b.src, b.out, { root: false }).then((d) => d.filter((l) => !/extra/.test(l))), []);
});

test('a file hard-linked to one outside the snapshot is replaced, not written through', async (t) => {
  const b = await restoredAndChanged(t);
  await link(join(b.out, 'f2'), join(b.dir, 'outside'));
  await restore(b, '--overwrite', 'always');
  assert.equal(await readFile(join(b.out, 'f2'), 'utf8'), 'two');
  assert.equal(await readFile(join(b.dir, 'outside'), 'utf8'), 'changed two');
});

test('whatever is in the way gives way: a directory where a file goes, a symlink where a directory goes', async (t) => {
  const b = await restoredAndChanged(t);
  await rm(join(b.out, 'sub'), { recursive: true });
  await symlink('/tmp', join(b.out, 'sub'));
  await rm(join(b.out, 'f1'));
  await mkdir(join(b.out, 'f1'));
  await restore(b, '--overwrite', 'always');
  assert.ok((await lstat(join(b.out, 'sub'))).isDirectory(), 'the symlink was replaced, not followed');
  assert.equal(await readFile(join(b.out, 'sub/f3'), 'utf8'), 'three');
  assert.equal(await readFile(join(b.out, 'f1'), 'utf8'), 'one');
});

test('--delete removes what the snapshot does not have, only among the selected paths', async (t) => {
  const b = await restoredAndChanged(t);
  const partial = await restore(b, '--delete', '--include', 'sub');
  assert.equal(partial.files_deleted, 1);
  await assert.rejects(lstat(join(b.out, 'sub/extra-dir')), { code: 'ENOENT' });
  await lstat(join(b.out, 'extra'));
  const s = await restore(b, '--delete');
  assert.equal(s.files_deleted, 1);
  await assert.rejects(lstat(join(b.out, 'extra')), { code: 'ENOENT' });
  assert.deepEqual(await compareTrees(b.src, b.out), []);
});
