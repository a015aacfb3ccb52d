// prune on random histories (restic and holdfast backups, random forgets): holdfast plans what restic
// 0.14 plans, restic check --read-data is clean afterwards and every kept snapshot restores.

import assert from 'node:assert/strict';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { holdfast, ok, restic } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { assertResticCheck, assertRestores, buildHistory, packOf, pruneStats, random, snapshotIds } from './history.js';

const optionChoices: string[][] = [
  [],
  ['--max-unused', '0'],
  ['--max-unused', 'unlimited'],
  ['--max-unused', '1M'],
  ['--max-unused', '20%', '--repack-small'],
  ['--repack-cacheable-only'],
  ['--max-repack-size', '3M', '--max-unused', '0'],
];

for (const seed of [101, 202]) {
  test(`prune after a random history (seed ${seed}) plans as restic does, keeps every snapshot restorable and leaves restic check clean`, async (t) => {
    if (!requireTools(t, 'restic')) return;
    const dir = await tempDir(t);
    const rnd = random(seed);
    const h = await buildHistory(dir, seed, 6, seed % 2 === 0 ? 'holdfast' : 'restic');

    // Forget some snapshots: named ones by holdfast, or a --keep-last policy by restic.
    if (rnd() < 0.5) {
      const forget = h.order.filter(() => rnd() < 0.5).slice(0, 4);
      if (forget.length === 0) forget.push(h.order[0]!);
      await ok(holdfast(['-r', h.repo, 'forget', ...forget]));
    } else {
      await ok(restic(['-r', h.repo, 'forget', '--keep-last', String(2 + Math.floor(rnd() * 3))]));
    }
    const kept = await snapshotIds(h.repo);
    assert.ok(kept.length < h.order.length && kept.length > 0);

    const options = optionChoices[Math.floor(rnd() * optionChoices.length)]!;
    t.diagnostic(`prune options: ${options.join(' ') || '(defaults)'}, ${kept.length} of ${h.order.length} snapshots kept`);
    const peer = join(dir, 'peer');
    await cp(h.repo, peer, { recursive: true });
    const ours = await ok(holdfast(['-r', h.repo, 'prune', '--dry-run', '-v', ...options]));
    const theirs = await ok(restic(['-r', peer, 'prune', '--dry-run', '-v', ...options]));
    assert.equal(pruneStats(ours.stdout), pruneStats(theirs.stdout), 'the same plan as restic');
    assert.match(ours.stdout, /to repack:.*\n.*\n.*\n.*\n.*\nunused size after prune:/);

    await ok(holdfast(['-r', h.repo, 'prune', ...options]));
    await assertResticCheck(h.repo);
    assert.deepEqual(await snapshotIds(h.repo), kept, 'prune keeps every snapshot');
    await assertRestores(h, kept, join(dir, 'restore'));

    // Done means done: no pack is left that holds nothing needed, and the plans still agree.
    await cp(h.repo, join(dir, 'peer2'), { recursive: true });
    const again = await ok(holdfast(['-r', h.repo, 'prune', '--dry-run', '-v', ...options]));
    assert.match(again.stdout, /to delete: +0 blobs \/ 0 B/);
    assert.doesNotMatch(again.stdout, /unreferenced/);
    const peerAgain = await ok(restic(['-r', join(dir, 'peer2'), 'prune', '--dry-run', '-v', ...options]));
    assert.equal(pruneStats(again.stdout), pruneStats(peerAgain.stdout));
  });
}

test('prune refuses to start when a blob in use is missing from the index, and changes nothing', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const h = await buildHistory(dir, 7, 2);
  await ok(holdfast(['-r', h.repo, 'forget', h.order[0]!]));
  // Lose the pack with the kept snapshot's root tree, and its index entries with a rebuilt index.
  const tree = (JSON.parse((await ok(restic(['-r', h.repo, '--no-lock', 'cat', 'snapshot', h.order[1]!]))).stdout) as { tree: string }).tree;
  const pack = await packOf(h.repo, tree);
  await rm(join(h.repo, 'data', pack.slice(0, 2), pack));
  await ok(holdfast(['-r', h.repo, 'repair', 'index']));
  const before = await snapshotIds(h.repo);
  const r = await holdfast(['-r', h.repo, 'prune']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /not in the index|unable to load tree/);
  assert.deepEqual(await snapshotIds(h.repo), before);
});
