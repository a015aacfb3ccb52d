// tag rewrites snapshots as restic 0.14 does (same tags in the same order, `original`, the old
// file gone) while keeping fields restic 0.14 does not know; restic reads the result.

import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { parseGoTime } from '../../src/format/go-json.js';
import { makeNode } from '../../src/format/node.js';
import { decodeSnapshot, type Snapshot } from '../../src/format/snapshot.js';
import { encodeTree } from '../../src/format/tree.js';
import { changedTags } from '../../src/maintenance/snapshot-tags.js';
import { initRepository } from '../../src/repository/keys.js';
import { saveSnapshot } from '../../src/repository/snapshots.js';
import { saveTree } from '../../src/repository/trees.js';
import { holdfast, ok, restic } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';

test('tag changes: add appends new tags, remove moves the last tag into the gap, set replaces', () => {
  assert.deepEqual(changedTags(['a', 'b', 'c'], { add: ['d', 'a'] }), ['a', 'b', 'c', 'd']);
  assert.deepEqual(changedTags(['a', 'b', 'c', 'd'], { remove: ['a'] }), ['d', 'b', 'c']);
  assert.deepEqual(changedTags(['a'], { set: [] }), []);
  assert.equal(changedTags(['a'], { add: ['a'], remove: ['z'] }), undefined);
});

async function snapshotRepository(dir: string): Promise<string> {
  const repo = await initRepository(new LocalBackend(dir), 'test-password', { kdf: { N: 1024, r: 8, p: 1 } });
  try {
    const tree = await saveTree(repo, encodeTree([makeNode({ name: Buffer.from('f'), type: 'file', mode: 0o644 })]));
    await repo.flush();
    const sn: Snapshot = {
      time: parseGoTime('2022-05-06T07:08:09.5+02:00'),
      tree,
      paths: ['/srv/b', '/srv/a'],
      hostname: 'host <1> & co',
      username: 'me',
      uid: 1000,
      gid: 1000,
      excludes: ['*.tmp'],
      tags: ['a', 'b', 'c'],
      programVersion: 'restic 0.17.3',
      unknownFields: [['future_field', '{"nested":[1,2,{"x":"y"}]}']],
    };
    return await saveSnapshot(repo, sn);
  } finally {
    await repo.close();
  }
}

async function listSnapshots(repo: string): Promise<string[]> {
  return (await ok(restic(['-r', repo, 'list', 'snapshots']))).stdout.trim().split('\n').filter((l) => l !== '');
}

test('a retagged snapshot equals restic\'s rewrite of it and keeps newer fields', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const ours = join(dir, 'ours');
  const theirs = join(dir, 'theirs');
  const id = await snapshotRepository(ours);
  await cp(ours, theirs, { recursive: true });

  const change = ['--add', 'x,a', '--remove', 'a', '--add', 'y'];
  await ok(holdfast(['-r', ours, 'tag', ...change, id.slice(0, 8)]));
  await ok(restic(['-r', theirs, 'tag', ...change, id.slice(0, 8)]));
  const [newOurs] = await listSnapshots(ours);
  const [newTheirs] = await listSnapshots(theirs);
  assert.ok(newOurs && newTheirs && newOurs !== id);

  // restic prints its own view of both documents: they must be the same.
  const catOurs = (await ok(restic(['-r', ours, 'cat', 'snapshot', newOurs]))).stdout;
  const catTheirs = (await ok(restic(['-r', theirs, 'cat', 'snapshot', newTheirs]))).stdout;
  assert.equal(catOurs, catTheirs);
  const seen = JSON.parse(catOurs) as { tags: string[]; original: string };
  assert.deepEqual(seen.tags, ['y', 'b', 'c', 'x']);
  assert.equal(seen.original, id);

  // What restic 0.14 drops, holdfast keeps.
  const doc = decodeSnapshot((await ok(holdfast(['-r', ours, 'cat', 'snapshot', newOurs]))).stdoutBytes);
  assert.equal(doc.programVersion, 'restic 0.17.3');
  assert.deepEqual(doc.unknownFields, [['future_field', '{"nested":[1,2,{"x":"y"}]}']]);

  // A second change keeps pointing at the first version; --set '' removes every tag.
  await ok(holdfast(['-r', ours, 'tag', '--set', 'p,q', newOurs]));
  await ok(holdfast(['-r', ours, 'tag', '--set', '', '--host', 'host <1> & co']));
  const [last] = await listSnapshots(ours);
  const final = JSON.parse((await ok(restic(['-r', ours, 'cat', 'snapshot', last!]))).stdout) as { tags?: string[]; original: string };
  assert.equal(final.tags, undefined);
  assert.equal(final.original, id);
  await ok(restic(['-r', ours, 'check']));
});

test('tag refuses an empty or contradictory change', async (t) => {
  const dir = await tempDir(t);
  await snapshotRepository(dir);
  const none = await holdfast(['-r', dir, 'tag']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /nothing to do/);
  const both = await holdfast(['-r', dir, 'tag', '--set', 'a', '--add', 'b']);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /cannot be given at the same time/);
});
