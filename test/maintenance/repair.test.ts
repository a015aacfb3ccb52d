// repair index rebuilds the index from the packs (every snapshot restores after all index files
// are deleted); repair snapshots replaces snapshots that lost data by ones restic checks clean.

import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { goTimeFromDate } from '../../src/format/go-json.js';
import { randomId } from '../../src/format/id.js';
import { makeNode } from '../../src/format/node.js';
import { encodeTree } from '../../src/format/tree.js';
import { openRepository } from '../../src/repository/keys.js';
import { saveSnapshot } from '../../src/repository/snapshots.js';
import { holdfast, ok, restic, testEnv } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { assertResticCheck, assertRestores, buildHistory, packOf, snapshotIds, treeDigest } from './history.js';

async function indexFiles(repo: string): Promise<string[]> {
  return (await readdir(join(repo, 'index'))).sort();
}

test('repair index after every index file is deleted: restic check --read-data is clean and every snapshot restores', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const h = await buildHistory(dir, 41, 4, 'restic');
  for (const f of await indexFiles(h.repo)) await rm(join(h.repo, 'index', f));
  const broken = await restic(['-r', h.repo, 'check']);
  assert.notEqual(broken.code, 0, 'without an index the snapshots refer to nothing');

  const r = await ok(holdfast(['-r', h.repo, 'repair', 'index']));
  assert.match(r.stdout, /reading pack files/);
  assert.match(r.stderr, /adding pack file to index/);
  await assertResticCheck(h.repo);
  await assertRestores(h, h.order, join(dir, 'restore'));
});

test('rebuild-index --read-all-packs replaces every index file by one built from the pack headers', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const h = await buildHistory(dir, 42, 3);
  const before = await indexFiles(h.repo);
  const r = await ok(holdfast(['-r', h.repo, 'rebuild-index', '--read-all-packs']));
  assert.match(r.stdout, /done/);
  const after = await indexFiles(h.repo);
  assert.equal(after.filter((f) => before.includes(f)).length, 0, 'every old index file is deleted');
  const docs = await Promise.all(after.map(async (id) => JSON.parse((await ok(restic(['-r', h.repo, 'cat', 'index', id]))).stdout) as { supersedes?: string[] }));
  assert.deepEqual(docs.flatMap((d) => d.supersedes ?? []).sort(), before, 'the new index lists the old files in supersedes');
  await assertResticCheck(h.repo);
  await assertRestores(h, h.order, join(dir, 'restore'));
});

test('repair index forgets a pack that is gone; repair snapshots --forget then leaves restic check clean', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const h = await buildHistory(dir, 43, 3);
  const latest = h.order.at(-1)!;
  // Lose the pack that holds the data of one file of the latest snapshot.
  const ls = (await ok(restic(['-r', h.repo, 'ls', '--json', latest]))).stdout.trim().split('\n').map((l) => JSON.parse(l) as { type?: string; path?: string; size?: number; struct_type?: string });
  const file = ls.find((n) => n.type === 'file' && (n.size ?? 0) > 0)!;
  const tree = (JSON.parse((await ok(restic(['-r', h.repo, 'cat', 'snapshot', latest]))).stdout) as { tree: string }).tree;
  const content = await fileContent(h.repo, tree, file.path!);
  const pack = await packOf(h.repo, content[0]!);
  await rm(join(h.repo, 'data', pack.slice(0, 2), pack));

  const r = await ok(holdfast(['-r', h.repo, 'repair', 'index']));
  assert.match(r.stderr, new RegExp(`removing not found pack file ${pack}`));
  assert.notEqual((await restic(['-r', h.repo, 'check'])).code, 0, 'snapshots refer to lost data');

  const before = await snapshotIds(h.repo);
  const dry = await ok(holdfast(['-r', h.repo, 'repair', 'snapshots', '--dry-run']));
  assert.match(dry.stdout, /removed missing content/);
  assert.match(dry.stdout, /would modify [1-9]\d* snapshots/);
  assert.deepEqual(await snapshotIds(h.repo), before, 'a dry run changes nothing');

  const repaired = await ok(holdfast(['-r', h.repo, 'repair', 'snapshots', '--forget']));
  assert.match(repaired.stdout, new RegExp(`file "${file.path!.replaceAll('/', '\\/')}": removed missing content`));
  await assertResticCheck(h.repo);
  const now = await snapshotIds(h.repo);
  assert.equal(now.length, before.length);
  // Files whose data survived restore exactly; the damaged ones restore as what is left of them.
  const newest = JSON.parse((await ok(restic(['-r', h.repo, 'snapshots', '--json', 'latest']))).stdout) as Array<{ id: string; original: string }>;
  assert.equal(newest[0]!.original, latest, 'the repaired snapshot names its original');
  const target = join(dir, 'restore');
  await ok(restic(['-r', h.repo, 'restore', 'latest', '--target', target]));
  const restored = await treeDigest(join(target, h.src));
  const expected = h.snapshots.get(latest)!;
  const relative = file.path!.slice(h.src.length + 1);
  assert.notEqual(restored.get(relative), expected.get(relative), 'the damaged file lost content');
  let same = 0;
  for (const [path, digest] of expected) if (restored.get(path) === digest) same++;
  assert.ok(same > 0 && same < expected.size, `${same} of ${expected.size} files intact`);
});

/** The content blob ids of a file in a snapshot, by walking its trees with restic cat. */
async function fileContent(repo: string, root: string, path: string): Promise<string[]> {
  let tree = root;
  const parts = path.split('/').filter((p) => p !== '');
  for (let i = 0; i < parts.length; i++) {
    const nodes = (JSON.parse((await ok(restic(['-r', repo, '--no-lock', 'cat', 'blob', tree]))).stdout) as { nodes: Array<{ name: string; subtree?: string; content?: string[] }> }).nodes;
    const node = nodes.find((n) => n.name === parts[i])!;
    if (i === parts.length - 1) return node.content!;
    tree = node.subtree!;
  }
  throw new Error(`no file ${path}`);
}

test('repair snapshots replaces a directory whose tree is lost by an empty one and keeps the rest', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const repoPath = join(dir, 'repo');
  await ok(holdfast(['-r', repoPath, 'init']));
  const repo = await openRepository(new LocalBackend(repoPath), testEnv.HOLDFAST_PASSWORD);
  try {
    const now = goTimeFromDate(new Date());
    const file = (await repo.saveBlob('data', Buffer.from('kept content\n'))).id;
    const tree = encodeTree([
      makeNode({ name: Buffer.from('gone'), type: 'dir', mode: 0x800001ed, mtime: now, subtree: randomId() }),
      makeNode({ name: Buffer.from('kept.txt'), type: 'file', mode: 0o644, mtime: now, size: 13n, content: [file] }),
    ]);
    const root = (await repo.saveBlob('tree', tree)).id;
    await repo.flush();
    await saveSnapshot(repo, { time: now, tree: root, paths: ['/data'], hostname: 'h' });
  } finally {
    await repo.close();
  }
  assert.notEqual((await restic(['-r', repoPath, 'check'])).code, 0);
  const r = await ok(holdfast(['-r', repoPath, 'repair', 'snapshots']));
  assert.match(r.stdout, /dir "\/gone": replaced with empty directory/);
  assert.match(r.stdout, /modified 1 snapshots/);
  const repaired = (JSON.parse((await ok(restic(['-r', repoPath, 'snapshots', '--json', '--tag', 'repaired']))).stdout) as Array<{ id: string; original: string }>)[0]!;
  const listing = (await ok(restic(['-r', repoPath, 'ls', repaired.id]))).stdout;
  assert.match(listing, /^\/gone$/m);
  assert.match(listing, /^\/kept\.txt$/m);
  // The original stays (no --forget): restic check still finds its damage, until it is forgotten.
  await ok(holdfast(['-r', repoPath, 'forget', repaired.original]));
  await assertResticCheck(repoPath);
  const target = join(dir, 'restore');
  await ok(restic(['-r', repoPath, 'restore', repaired.id, '--target', target]));
  assert.deepEqual([...(await treeDigest(target)).keys()].sort(), ['kept.txt']);
  assert.deepEqual(await readdir(join(target, 'gone')), []);
});
