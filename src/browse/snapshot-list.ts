// snapshots: the snapshot list in groups, optionally cut to the newest few of each host and path
// set, as restic's `snapshots --group-by ... --latest n` shows it.

import { type GroupBy, groupSnapshots, type SnapshotGroup } from '../repository/snapshot-groups.js';
import type { SnapshotEntry } from '../repository/snapshots.js';

function newestFirst(a: SnapshotEntry, b: SnapshotEntry): number {
  const d = b.snapshot.time.ns - a.snapshot.time.ns;
  return d > 0n ? 1 : d < 0n ? -1 : 0;
}

/** The newest `limit` snapshots of each host and set of paths (the paths in any order), newest first. */
export function latestPerHostAndPaths(list: readonly SnapshotEntry[], limit: number): SnapshotEntry[] {
  const seen = new Map<string, number>();
  const result: SnapshotEntry[] = [];
  for (const e of [...list].sort(newestFirst)) {
    const key = JSON.stringify([e.snapshot.hostname ?? '', [...e.snapshot.paths].sort()]);
    const n = seen.get(key) ?? 0;
    if (n >= limit) continue;
    seen.set(key, n + 1);
    result.push(e);
  }
  return result;
}

/** Groups the snapshots; within a group, oldest first, keeping only the latest `latest` when it is above 0. */
export function listSnapshotGroups(entries: readonly SnapshotEntry[], by: GroupBy, latest: number): SnapshotGroup[] {
  return groupSnapshots(entries, by).map((g) => {
    const list = latest > 0 ? latestPerHostAndPaths(g.snapshots, latest) : g.snapshots;
    return { key: g.key, snapshots: [...list].sort((a, b) => newestFirst(b, a)) };
  });
}
