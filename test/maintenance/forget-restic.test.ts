// forget's keep/remove decisions against restic 0.14's on the same repositories: for each policy,
// `forget --dry-run --json` of both must give the same groups, kept and removed snapshots, reasons
// and counters, in UTC and in Europe/Berlin (where times near DST changes are local times).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { forEachLimited } from '../../src/concurrency.js';
import { holdfast, ok, restic } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { createSnapshotRepository, dstSnapshots, mixedSnapshots } from './forget-fixture.js';

interface Group {
  tags: string[] | null;
  host: string;
  paths: string[] | null;
  keep: Array<{ id: string }> | null;
  remove: Array<{ id: string }> | null;
}

/** restic prints groups in map order; compare them by key. */
function byKey(json: string): Map<string, Group> {
  const groups = JSON.parse(json) as Group[];
  return new Map(groups.map((g) => [JSON.stringify([g.host, g.paths, g.tags]), g]));
}

const mixedPolicies: string[][] = [
  ['--keep-last', '5'],
  ['--keep-hourly', '30'],
  ['--keep-daily', '10'],
  ['--keep-weekly', '8'],
  ['--keep-monthly', '14'],
  ['--keep-yearly', '3'],
  ['-d', '7', '-w', '4', '-m', '6', '-y', '2'],
  ['--keep-last', '3', '--keep-hourly', '5', '--keep-daily', '3'],
  ['--keep-within', '1y2m3d4h'],
  ['--keep-within', '10d'],
  ['--keep-within-hourly', '3d', '--keep-within-daily', '20d'],
  ['--keep-within-weekly', '3m', '--keep-within-monthly', '1y', '--keep-within-yearly', '5y'],
  ['--keep-tag', 'important', '--keep-last', '2'],
  ['--keep-tag', 'a,b', '--keep-tag', 'c'],
  ['--keep-tag', ''],
  ['--keep-last', '4', '--group-by', 'host,tags'],
  ['--keep-daily', '5', '--group-by', ''],
  ['--keep-weekly', '3', '--group-by', 'paths'],
  ['--keep-hourly', '6', '--host', 'h1', '--tag', 'a'],
  ['--keep-monthly', '2', '--path', '/data'],
];

const dstPolicies: string[][] = [
  ['--keep-within', '2d'],
  ['--keep-within', '1d12h'],
  ['--keep-within', '3d', '--group-by', ''],
  ['--keep-within', '6m'],
  ['--keep-hourly', '40'],
  ['--keep-within-hourly', '2d'],
  ['--keep-within-daily', '2d'],
  ['--keep-daily', '20', '--keep-weekly', '10'],
  ['--keep-within-weekly', '1m', '--keep-within-monthly', '6m'],
];

async function compare(repo: string, policies: string[][], tz: string): Promise<string[]> {
  const env = { TZ: tz };
  const mismatches: string[] = [];
  await forEachLimited(policies, 4, async (policy) => {
    const ours = await ok(holdfast(['-r', repo, 'forget', '--dry-run', '--json', ...policy], { env }));
    const theirs = await ok(restic(['-r', repo, '--no-lock', 'forget', '--dry-run', '--json', ...policy], { env }));
    const a = byKey(ours.stdout);
    const b = byKey(theirs.stdout);
    try {
      assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), 'groups');
      for (const [key, group] of b) assert.deepEqual(a.get(key), group, `group ${key}`);
    } catch (err) {
      mismatches.push(`TZ=${tz} ${policy.join(' ')}: ${(err as Error).message.slice(0, 2000)}`);
    }
  });
  return mismatches;
}

test('forget keeps and removes what restic 0.14 keeps and removes, policy by policy', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const mixed = join(dir, 'mixed');
  const dst = join(dir, 'dst');
  await createSnapshotRepository(mixed, mixedSnapshots(20240229));
  await createSnapshotRepository(dst, dstSnapshots());

  const mismatches = [
    ...(await compare(mixed, mixedPolicies, 'UTC')),
    ...(await compare(mixed, mixedPolicies, 'Europe/Berlin')),
    ...(await compare(dst, dstPolicies, 'Europe/Berlin')),
    ...(await compare(dst, dstPolicies, 'UTC')),
  ];
  const total = 2 * mixedPolicies.length + 2 * dstPolicies.length;
  t.diagnostic(`${total - mismatches.length} of ${total} policy runs equal restic's`);
  assert.deepEqual(mismatches, []);
});

test('forget removes the snapshot files restic would remove, and restic sees the rest', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const repo = join(dir, 'repo');
  await createSnapshotRepository(repo, mixedSnapshots(7));
  const policy = ['--keep-daily', '5', '--keep-weekly', '3', '--keep-tag', 'important'];
  // With one group the text is deterministic: the tables (with reasons) must be restic's.
  const oneGroup = ['forget', '--dry-run', '--host', 'h2', ...policy];
  const text = await ok(holdfast(['-r', repo, ...oneGroup], { env: { TZ: 'UTC' } }));
  const resticText = await ok(restic(['-r', repo, '--no-lock', ...oneGroup], { env: { TZ: 'UTC' } }));
  assert.equal(text.stdout, resticText.stdout);
  const planned = byKey((await ok(restic(['-r', repo, '--no-lock', 'forget', '--dry-run', '--json', ...policy]))).stdout);
  const kept = [...planned.values()].flatMap((g) => (g.keep ?? []).map((s) => s.id)).sort();

  const run = await ok(holdfast(['-r', repo, 'forget', ...policy]));
  assert.match(run.stdout, /^Applying Policy: keep 5 daily, 3 weekly snapshots and all snapshots with tags \[\[important\]\]$/m);
  assert.match(run.stdout, /^remove \d+ snapshots:$/m);
  const left = (await ok(restic(['-r', repo, 'list', 'snapshots']))).stdout.trim().split('\n').sort();
  assert.deepEqual(left, kept);
  await ok(restic(['-r', repo, 'check']));
});
