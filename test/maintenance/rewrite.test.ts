// rewrite --exclude: new snapshots without the excluded files, checked and restored by restic, the
// old ones in `original` (removed with --forget); untouched nodes keep every byte, unknown fields too.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { goTimeFromDate } from '../../src/format/go-json.js';
import { openRepository } from '../../src/repository/keys.js';
import { saveSnapshot } from '../../src/repository/snapshots.js';
import { dirDigest } from '../helpers/dir-digest.js';
import { holdfast, ok, restic, testEnv } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { assertResticCheck, assertRestores, buildHistory, type History, snapshotIds } from './history.js';

interface SnapshotJson {
  id: string;
  original?: string;
  tags?: string[];
}

async function snapshots(repo: string): Promise<SnapshotJson[]> {
  return JSON.parse((await ok(restic(['-r', repo, '--no-lock', 'snapshots', '--json']))).stdout) as SnapshotJson[];
}

/** What a snapshot holds without the paths the test excludes: directory d1 and files ending in -2. */
function withoutExcluded(content: Map<string, string>): Map<string, string> {
  return new Map([...content].filter(([path]) => !path.startsWith('d1/') && !/-2$/.test(path)));
}

test('rewrite --exclude makes snapshots without the excluded files; restic checks and restores them', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const h = await buildHistory(dir, 61, 3);
  const excludes = ['--exclude', 'd1', '--exclude', '*-2'];

  const before = await dirDigest(h.repo);
  const dry = await ok(holdfast(['-r', h.repo, 'rewrite', '--dry-run', '-vv', ...excludes]));
  assert.match(dry.stdout, /excluding ".*\/d1"/);
  assert.match(dry.stdout, /would modify 3 snapshots/);
  assert.equal(await dirDigest(h.repo), before, 'a dry run writes nothing');

  const r = await ok(holdfast(['-r', h.repo, 'rewrite', ...excludes]));
  assert.match(r.stdout, /modified 3 snapshots/);
  await assertResticCheck(h.repo);
  const all = await snapshots(h.repo);
  const rewritten = all.filter((s) => s.tags?.includes('rewrite'));
  assert.equal(rewritten.length, 3);
  assert.deepEqual(rewritten.map((s) => s.original).sort(), [...h.order].sort(), 'each new snapshot names its original');
  const expected: History = { ...h, snapshots: new Map(rewritten.map((s) => [s.id, withoutExcluded(h.snapshots.get(s.original!)!)])) };
  await assertRestores(expected, rewritten.map((s) => s.id), join(dir, 'restore'));
  const listing = (await ok(restic(['-r', h.repo, 'ls', rewritten[0]!.id]))).stdout;
  assert.doesNotMatch(listing, /\/d1(\/|$)/m);

  // Nothing matches any more in the rewritten ones; --forget replaces the originals.
  const again = await ok(holdfast(['-r', h.repo, 'rewrite', '--forget', ...excludes, ...rewritten.map((s) => s.id)]));
  assert.match(again.stdout, /no snapshots were modified/);
  const patterns = join(dir, 'excludes');
  await writeFile(patterns, '# the same excludes, from a file\nd1\n*-2\n');
  const forget = await ok(holdfast(['-r', h.repo, 'rewrite', '--forget', '--exclude-file', patterns, ...h.order]));
  assert.match(forget.stdout, /removed old snapshot/);
  const left = await snapshotIds(h.repo);
  assert.equal(left.length, 6, 'three tagged copies from before, three new ones instead of the originals');
  assert.ok(h.order.every((id) => !left.includes(id)), 'the originals are gone');
  await assertResticCheck(h.repo, false);
});

test('rewrite keeps the bytes of nodes it does not change, unknown fields included', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const repoPath = join(dir, 'repo');
  await ok(restic(['-r', repoPath, 'init']));
  const repo = await openRepository(new LocalBackend(repoPath), testEnv.HOLDFAST_PASSWORD);
  const times = '"mtime":"2024-01-02T03:04:05Z","atime":"2024-01-02T03:04:05Z","ctime":"2024-01-02T03:04:05Z","uid":0,"gid":0';
  let keptNode: string;
  let root: string;
  try {
    const blob = (await repo.saveBlob('data', Buffer.from('x\n'))).id;
    const file = (name: string) => `{"name":"${name}","type":"file","mode":420,${times},"size":2,"links":1,"content":["${blob}"],"future":{"a":[1,"b"]}}`;
    keptNode = file('keep.txt');
    const sub = (await repo.saveBlob('tree', Buffer.from(`{"nodes":[${file('drop.log')},${keptNode}]}\n`))).id;
    const dirNode = `{"name":"sub","type":"dir","mode":2147484141,${times},"content":null,"subtree":"${sub}","future":true}`;
    root = (await repo.saveBlob('tree', Buffer.from(`{"nodes":[${file('a.log')},${dirNode}]}\n`))).id;
    await repo.flush();
    await saveSnapshot(repo, { time: goTimeFromDate(new Date()), tree: root, paths: ['/p'], hostname: 'h' });
  } finally {
    await repo.close();
  }
  await ok(holdfast(['-r', repoPath, 'rewrite', '--forget', '--exclude', 'drop.log']));
  await assertResticCheck(repoPath);
  const [sn] = (await snapshots(repoPath)) as Array<SnapshotJson & { tree: string }>;
  const newRoot = (await ok(restic(['-r', repoPath, 'cat', 'blob', sn!.tree]))).stdout;
  assert.ok(newRoot.includes('"name":"a.log"'), 'a.log stays: the pattern names drop.log');
  assert.match(newRoot, /"subtree":"[0-9a-f]{64}","future":true\}/, 'the directory node keeps its unknown field, with a new subtree');
  const newSub = JSON.parse(newRoot).nodes[1].subtree as string;
  assert.equal((await ok(restic(['-r', repoPath, 'cat', 'blob', newSub]))).stdout, `{"nodes":[${keptNode}]}\n`, 'the node left alone keeps every byte');
});
