// One run of one job of a plan, start to end: before hooks, the repository steps (backup, then
// retention and prune as configured; or prune; or check), after hooks; always a RunRecord.

import { hostname } from 'node:os';
import { backup } from '../backup/backup.js';
import { cacheDirOf } from '../repository/local-cache.js';
import { prepareDirCache } from '../backup/survey.js';
import { snapshotPaths } from '../backup/targets.js';
import { countersSummary } from '../backup/summary.js';
import { messageOf } from '../errors.js';
import { ExcludeRules } from '../fs/exclude-rules.js';
import { OpenFileMonitor } from '../fs/open-files.js';
import { pathBytes } from '../fs/paths.js';
import type { LogSink } from './agent-log.js';
import type { JobKind, PlanConfig } from './config-types.js';
import { planTag } from './config-types.js';
import { hookEnvironment, runHooks } from './hooks.js';
import { applyRetention, runCheck, runPrune, type Summary } from './maintenance-steps.js';
import { PlanRepository } from './plan-repository.js';
import { type RunRecord, runEnvironment, type Trigger } from './run-record.js';
import { displayLocation, Secrets } from './secrets.js';

export interface RunContext {
  readonly env: NodeJS.ProcessEnv;
  /** Variables hooks must not see: every plan's password-env, not only this plan's. */
  readonly passwordVariables: readonly string[];
  readonly log: LogSink;
  /** Aborted when the agent stops: a backup stops cleanly (resumable), a check is abandoned. */
  readonly signal: AbortSignal;
}

interface Step {
  readonly plan: PlanConfig;
  readonly ctx: RunContext;
  readonly summary: Summary;
  readonly warnings: string[];
}

async function backupSteps(session: PlanRepository, s: Step): Promise<string | undefined> {
  const { plan, ctx, summary } = s;
  const warn = (message: string) => ctx.log(`[${plan.name}] warning: ${message}`);
  const host = plan.host ?? hostname();
  const rules = await ExcludeRules.load(plan.excludes, { sources: snapshotPaths(plan.sources).map(pathBytes), warn: (w) => warn(`${w.path.toString()}: ${w.message}`) });
  const monitor = plan.openFileLog ? new OpenFileMonitor(plan.sources) : undefined;
  // The same local cache as the backup command's (HOLDFAST_CACHE_DIR or $XDG_CACHE_HOME/holdfast).
  const dirCache = prepareDirCache(cacheDirOf(ctx.env), plan.repository.location, host, plan.sources, rules, { force: false });
  const result = await session.locked(false, async (repo) => {
    await monitor?.start();
    try {
      return await backup(repo, {
        paths: plan.sources,
        rules,
        hostname: host,
        tags: [...plan.tags, planTag(plan.name)],
        excludes: [...(plan.excludes.exclude ?? []), ...(plan.excludes.iexclude ?? [])],
        openFiles: monitor,
        dirCache,
        signal: ctx.signal,
        onEvent: (e) => {
          if (e.type === 'warning') warn(`${e.path}: ${e.message}`);
        },
      });
    } finally {
      dirCache.survey?.stop();
      await monitor?.stop();
    }
  });
  const c = result.counters;
  Object.assign(summary, {
    ...countersSummary(c),
    file_errors: c.errors,
    open_for_write: result.openForWrite.length,
  });
  if (c.errors > 0) s.warnings.push(`${c.errors} file(s) or folder(s) could not be read; the snapshot lacks them`);
  if (result.openForWrite.length > 0) s.warnings.push(`${result.openForWrite.length} file(s) were open for writing while they were read`);
  ctx.log(`[${plan.name}] snapshot ${result.snapshotId?.slice(0, 8)} saved: ${c.filesNew} new, ${c.filesChanged} changed, ${c.filesUnmodified} unmodified files, ${c.dataAdded} bytes added`);
  if (plan.retention) {
    const removed = await applyRetention(session, plan.name, host, plan.retention, summary, ctx.log);
    ctx.log(`[${plan.name}] retention removed ${removed} snapshot(s), kept ${summary.snapshots_kept}`);
    if (removed > 0 && plan.prune?.afterRetention) await runPrune(session, plan.name, plan.prune, summary, ctx.log);
  }
  return result.snapshotId;
}

async function repositorySteps(job: JobKind, s: Step, secrets: Secrets): Promise<string | undefined> {
  const session = await PlanRepository.open(s.plan.repository, { env: s.ctx.env, secrets, signal: s.ctx.signal, log: s.ctx.log });
  try {
    switch (job) {
      case 'backup':
        return await backupSteps(session, s);
      case 'prune':
        await runPrune(session, s.plan.name, s.plan.prune ?? { timing: undefined, afterRetention: false, options: {} }, s.summary, s.ctx.log);
        return undefined;
      case 'check':
        await runCheck(session, s.plan.name, s.plan.check ?? { timing: undefined, readData: false }, s.summary, s.ctx.log, s.ctx.signal);
        return undefined;
    }
  } finally {
    await session.close().catch(() => undefined);
  }
}

export async function runJob(plan: PlanConfig, job: JobKind, trigger: Trigger, ctx: RunContext): Promise<RunRecord> {
  const secrets = new Secrets();
  const startedMs = Date.now();
  const base = { plan: plan.name, job, trigger, repository: displayLocation(plan.repository.location), started: new Date(startedMs).toISOString() };
  const step: Step = { plan, ctx, summary: {}, warnings: [] };
  const hookOptions = (vars: Record<string, string>) => ({ env: hookEnvironment(ctx.env, ctx.passwordVariables, vars), cwd: plan.hooks.workDir, timeoutMs: plan.hooks.timeoutMs, log: ctx.log, label: `[${plan.name}]`, secrets });
  const hooks = job === 'backup' ? plan.hooks : { before: [], after: [] };

  let error: string | undefined = (await runHooks('before', hooks.before, hookOptions(runEnvironment(base))))[0];
  let snapshotId: string | undefined;
  if (error === undefined) {
    try {
      snapshotId = await repositorySteps(job, step, secrets);
    } catch (err) {
      error = messageOf(err);
    }
  }
  const finishedMs = Date.now();
  const record: RunRecord = {
    ...base,
    result: error === undefined ? 'success' : 'failure',
    finished: new Date(finishedMs).toISOString(),
    duration_seconds: (finishedMs - startedMs) / 1000,
    snapshot_id: snapshotId ?? null,
    error: error === undefined ? null : secrets.redact(error),
    interrupted: error !== undefined && ctx.signal.aborted,
    summary: step.summary,
    warnings: step.warnings.map((w) => secrets.redact(w)),
  };
  const afterFailures = await runHooks('after', hooks.after, hookOptions(runEnvironment(record)));
  return afterFailures.length === 0 ? record : { ...record, warnings: [...record.warnings, ...afterFailures] };
}
