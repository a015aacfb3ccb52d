// forget: removes snapshot files, either the ones named or the ones a retention policy does not
// keep, group by group. The data they referenced stays until a prune removes what is unreferenced.

import { forEachLimited } from '../concurrency.js';
import { type GroupBy, groupSnapshots, type SnapshotGroupKey } from '../repository/snapshot-groups.js';
import { selectSnapshots } from '../repository/snapshot-selection.js';
import type { SnapshotFilter } from '../repository/snapshots.js';
import type { Repository } from '../repository/repository.js';
import { applyPolicy, checkPolicy, type ExpirePolicy, isEmptyPolicy, type PolicyResult } from './forget-policy.js';

export interface ForgetOptions {
  readonly policy: ExpirePolicy;
  readonly groupBy: GroupBy;
  readonly filter: SnapshotFilter;
  /** Snapshots named on the command line: these are removed, and no policy is applied. */
  readonly snapshotIds: readonly string[];
  readonly dryRun: boolean;
  /** The present, for "not in the future" (tests pin it). */
  readonly now?: Date;
  readonly warn: (message: string) => void;
}

export interface ForgetGroup extends PolicyResult {
  readonly key: SnapshotGroupKey;
}

export interface ForgetResult {
  /** One per group when a policy was applied; empty for explicit ids or an empty policy. */
  readonly groups: ForgetGroup[];
  /** Ids of the snapshot files removed (or, with dryRun, that would be), sorted. */
  readonly removed: string[];
  readonly policyEmpty: boolean;
}

export async function forgetSnapshots(repo: Repository, options: ForgetOptions): Promise<ForgetResult> {
  checkPolicy(options.policy);
  const snapshots = await selectSnapshots(repo, options.snapshotIds, options.filter, options.warn);
  const policyEmpty = isEmptyPolicy(options.policy);
  const groups: ForgetGroup[] = [];
  const removed = new Set<string>();
  if (options.snapshotIds.length > 0) {
    for (const e of snapshots) removed.add(e.id);
  } else if (!policyEmpty) {
    for (const group of groupSnapshots(snapshots, options.groupBy)) {
      const result = applyPolicy(group.snapshots, options.policy, options.now);
      groups.push({ key: group.key, ...result });
      for (const e of result.remove) removed.add(e.id);
    }
  }
  const ids = [...removed].sort();
  if (!options.dryRun) {
    await forEachLimited(ids, 4, (id) => repo.backend.remove({ type: 'snapshots', name: id }));
  }
  return { groups, removed: ids, policyEmpty };
}
