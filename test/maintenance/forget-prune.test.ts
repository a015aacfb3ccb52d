// forget --prune: the prune runs in the same session, on the snapshots forget leaves; with
// --dry-run it plans as if the forgotten snapshots were gone, as restic 0.14's does.

import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { holdfast, ok, restic } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { assertResticCheck, assertRestores, buildHistory, pruneStats, snapshotIds } from './history.js';

test('forget --prune removes the snapshots and their data; its dry run plans what restic plans', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const h = await buildHistory(dir, 71, 4);
  const peer = join(dir, 'peer');
  await cp(h.repo, peer, { recursive: true });
  const args = ['forget', '--keep-last', '2', '--prune', '--max-unused', '0'];

  const ours = await ok(holdfast(['-r', h.repo, ...args, '--dry-run', '-v']));
  const theirs = await ok(restic(['-r', peer, ...args, '--dry-run', '-v']));
  assert.match(ours.stdout, /2 snapshots have been removed, running prune/);
  assert.equal(pruneStats(ours.stdout), pruneStats(theirs.stdout));
  assert.equal((await snapshotIds(h.repo)).length, 4, 'a dry run removes nothing');

  await ok(holdfast(['-r', h.repo, ...args]));
  const kept = await snapshotIds(h.repo);
  assert.deepEqual(kept, h.order.slice(2).sort());
  await assertResticCheck(h.repo);
  await assertRestores(h, kept, join(dir, 'restore'));
  const again = await ok(holdfast(['-r', h.repo, 'prune', '--dry-run', '--max-unused', '0']));
  assert.match(again.stdout, /total prune: +0 blobs \/ 0 B/);
});

test('forget --prune checks the prune options before it removes anything', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const h = await buildHistory(dir, 72, 2);
  const r = await holdfast(['-r', h.repo, 'forget', '--keep-last', '1', '--prune', '--max-unused', '100%']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /percentage for --max-unused must be below 100%/);
  assert.equal((await snapshotIds(h.repo)).length, 2);
});
