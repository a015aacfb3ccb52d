// The repository steps of a plan besides the backup itself: retention (forget), prune and check,
// each under the exclusive lock restic takes for it, each adding its counts to the run's summary.

import { HoldfastError } from '../errors.js';
import { checkRepository } from '../maintenance/check.js';
import { forgetSnapshots } from '../maintenance/forget.js';
import { prune } from '../maintenance/prune.js';
import type { LogSink } from './agent-log.js';
import type { CheckConfig, PruneConfig, RetentionConfig } from './config-types.js';
import { planTag } from './config-types.js';
import type { PlanRepository } from './plan-repository.js';

export type Summary = Record<string, number>;

/** Removes the plan's snapshots (of this host) that its policy does not keep; returns how many. */
export async function applyRetention(session: PlanRepository, plan: string, host: string, retention: RetentionConfig, summary: Summary, log: LogSink): Promise<number> {
  const result = await session.locked(true, (repo) =>
    forgetSnapshots(repo, {
      policy: retention.policy,
      groupBy: retention.groupBy,
      filter: { hosts: [host], tags: [[planTag(plan)]] },
      snapshotIds: [],
      dryRun: false,
      warn: (m) => log(`[${plan}] retention: ${m}`),
    }),
  );
  summary.snapshots_removed = result.removed.length;
  summary.snapshots_kept = result.groups.reduce((n, g) => n + g.keep.length, 0);
  return result.removed.length;
}

export async function runPrune(session: PlanRepository, plan: string, config: PruneConfig, summary: Summary, log: LogSink): Promise<void> {
  // Prune has no clean stop: it is ordered so that a kill at any point leaves the repository
  // consistent, and the agent waits for it when asked to stop.
  const result = await session.locked(true, (repo) =>
    prune(repo, config.options, (e) => {
      if (e.type === 'warning') log(`[${plan}] prune: ${e.message}`);
    }),
  );
  const s = result.stats.size;
  summary.packs_removed = result.removed.length + result.unreferenced.length;
  summary.packs_repacked = result.repacked.length;
  summary.bytes_freed = s.remove + s.repackrm + s.unref;
  log(`[${plan}] prune removed ${summary.packs_removed} pack(s), repacked ${summary.packs_repacked}, freed ${summary.bytes_freed} bytes`);
}

/** Resolves with `work`, or rejects as soon as `signal` aborts (the work is abandoned, not stopped). */
function abandonOnAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new HoldfastError('ERR_INTERRUPTED', 'interrupted: the agent is stopping'));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new HoldfastError('ERR_INTERRUPTED', 'interrupted: the agent is stopping'));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export async function runCheck(session: PlanRepository, plan: string, config: CheckConfig, summary: Summary, log: LogSink, signal: AbortSignal): Promise<void> {
  // A check only reads: when the agent stops it is abandoned and its lock released at once.
  const result = await session.locked(true, (repo) =>
    abandonOnAbort(
      checkRepository(repo, { readData: config.readData }, (e) => {
        if (e.type === 'error') log(`[${plan}] check: ${e.message}`);
      }),
      signal,
    ),
  );
  summary.check_errors = result.errors.length;
  summary.snapshots_checked = result.snapshots;
  summary.packs_read = result.packsRead;
  summary.bytes_checked = result.bytesRead;
  if (result.errors.length > 0) {
    const first = result.errors.slice(0, 3).join('; ');
    throw new HoldfastError('ERR_CORRUPT', `check found ${result.errors.length} error(s): ${first}${result.errors.length > 3 ? '; ...' : ''}`);
  }
}
