// The local directory cache: a backup reuses the parent's tree of every directory the survey finds
// unchanged, and the snapshot is exactly the one a full walk makes; any change below a directory,
// a parent the cache was not written for, a rewritten index or a damaged cache means a full walk.

import assert from 'node:assert/strict';
import { appendFile, chmod, mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { summaryOf } from '../helpers/backup-json.js';
import { holdfast, ok } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

interface Setup {
  readonly repo: string;
  readonly src: string;
  readonly cache: string;
  /** Directories in the source, itself included. */
  readonly dirs: number;
}

async function setup(t: TestContext): Promise<Setup> {
  const dir = await tempDir(t);
  const repo = join(dir, 'repo');
  const src = join(dir, 'src');
  const cache = join(dir, 'cache');
  for (const d of ['a/b/c', 'a/d', 'e']) await mkdir(join(src, d), { recursive: true });
  await writeFile(join(src, 'top.txt'), 'top\n');
  await writeFile(join(src, 'a', 'b', 'c', 'deep.txt'), 'deep\n');
  await writeFile(join(src, 'a', 'd', 'side.txt'), 'side\n');
  await writeFile(join(src, 'e', 'other.txt'), 'other\n');
  await ok(holdfast(['-r', repo, 'init']));
  return { repo, src, cache, dirs: 6 };
}

async function backup(s: Setup, ...extra: string[]) {
  return summaryOf(await ok(holdfast(['-r', s.repo, '--json', '--cache-dir', s.cache, 'backup', ...extra, s.src])));
}

/**
 * The tree of the source directory in a snapshot (its root tree also holds the directories above
 * the source, whose times others change: /tmp).
 */
async function treeOf(s: Setup, snapshot: string | undefined): Promise<string> {
  assert.ok(snapshot);
  let tree = (JSON.parse((await ok(holdfast(['-r', s.repo, 'cat', 'snapshot', snapshot]))).stdout) as { tree: string }).tree;
  for (const name of s.src.split('/').filter((c) => c !== '')) {
    const { nodes } = JSON.parse((await ok(holdfast(['-r', s.repo, 'cat', 'tree', tree]))).stdout) as { nodes: { name: string; subtree?: string }[] };
    const node = nodes.find((n) => n.name === name);
    assert.ok(node?.subtree, `${name} is a directory in tree ${tree}`);
    tree = node.subtree;
  }
  return tree;
}

test('an unchanged backup reuses every directory and makes the tree a full walk makes', async (t) => {
  const s = await setup(t);
  assert.equal((await backup(s)).dirs_reused, 0, 'nothing to reuse in a first backup');
  const second = await backup(s);
  assert.equal(second.dirs_reused, s.dirs);
  assert.equal(second.files_unmodified, 4);
  assert.equal(second.bytes_read, 0);
  const walked = await backup(s, '--force');
  assert.equal(walked.dirs_reused, 0, '--force walks and reads everything');
  assert.equal(await treeOf(s, second.snapshot_id), await treeOf(s, walked.snapshot_id));
});

test('a change deep down is found; only its directory and those above it are walked', async (t) => {
  const s = await setup(t);
  await backup(s);
  await appendFile(join(s.src, 'a', 'b', 'c', 'deep.txt'), 'more\n');
  const changed = await backup(s);
  assert.equal(changed.files_changed, 1);
  assert.equal(changed.bytes_read, 10);
  // src, a, a/b and a/b/c are walked; a/d and e are reused.
  assert.equal(changed.dirs_reused, 2);
  const walked = await backup(s, '--force');
  assert.equal(await treeOf(s, changed.snapshot_id), await treeOf(s, walked.snapshot_id));
});

test('a file rewritten with the same size and mtime is read again (its ctime changed)', async (t) => {
  const s = await setup(t);
  const file = join(s.src, 'e', 'other.txt');
  await backup(s);
  const before = await stat(file);
  await writeFile(file, 'OTHER\n');
  await utimes(file, before.atime, before.mtime);
  const r = await backup(s);
  assert.equal(r.files_changed, 1);
  assert.equal(r.bytes_read, 6);
});

test('a metadata change (mode of a deep directory) makes a new tree, as a full walk does', async (t) => {
  const s = await setup(t);
  const first = await backup(s);
  await chmod(join(s.src, 'a', 'b', 'c'), 0o700);
  const r = await backup(s);
  assert.notEqual(await treeOf(s, r.snapshot_id), await treeOf(s, first.snapshot_id));
  assert.equal(r.dirs_reused, 3, 'a/b/c itself (its entries are unchanged), a/d and e');
  const walked = await backup(s, '--force');
  assert.equal(await treeOf(s, r.snapshot_id), await treeOf(s, walked.snapshot_id));
});

test('the cache is only used for the snapshot it was written after, while its index is there', async (t) => {
  const s = await setup(t);
  const first = await backup(s);
  await backup(s);
  assert.equal((await backup(s, '--parent', first.snapshot_id!)).dirs_reused, 0, 'another parent: full walk');
  assert.equal((await backup(s)).dirs_reused, s.dirs, 'the cache now describes the snapshot made with --parent, the latest');
  await ok(holdfast(['-r', s.repo, 'repair', 'index']));
  const afterRepair = await backup(s);
  assert.equal(afterRepair.dirs_reused, 0, 'the index was rewritten: full walk');
  assert.equal(afterRepair.bytes_read, 0);
});

test('a damaged cache file, or --no-cache, means a full walk and a correct snapshot', async (t) => {
  const s = await setup(t);
  await backup(s);
  const dir = join(s.cache, 'dirs');
  const [file] = await readdir(dir);
  assert.ok(file, 'the cache file was written');
  await writeFile(join(dir, file), 'not a cache');
  const damaged = await backup(s);
  assert.equal(damaged.dirs_reused, 0);
  assert.equal(damaged.files_unmodified, 4);
  assert.ok((await backup(s)).dirs_reused > 0, 'the damaged file was replaced by a good one');
  const off = summaryOf(await ok(holdfast(['-r', s.repo, '--json', '--cache-dir', s.cache, '--no-cache', 'backup', s.src])));
  assert.equal(off.dirs_reused, 0);
});
