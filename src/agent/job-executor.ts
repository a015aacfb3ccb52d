// Runs a job for the daemon or for `agent run` alike: the status file says it is running, the
// run happens, the log and the status file get its result, and the plan's webhooks are told.

import type { LogSink } from './agent-log.js';
import type { JobKind, PlanConfig } from './config-types.js';
import { runJob } from './job-runner.js';
import { notify } from './notifier.js';
import type { RunRecord, Trigger } from './run-record.js';
import type { StatusStore } from './status-store.js';

export interface ExecutorContext {
  readonly status: StatusStore;
  readonly log: LogSink;
  readonly env: NodeJS.ProcessEnv;
  readonly passwordVariables: readonly string[];
  readonly signal: AbortSignal;
}

function outcomeLine(r: RunRecord): string {
  const took = `${r.duration_seconds.toFixed(1)}s`;
  if (r.result === 'success') return `[${r.plan}] ${r.job} succeeded in ${took}${r.snapshot_id ? `, snapshot ${r.snapshot_id.slice(0, 8)}` : ''}`;
  return `[${r.plan}] ${r.job} failed after ${took}: ${r.error}`;
}

/**
 * `firedAt`: when the scheduler fired this run. Once the run has ended (not interrupted), every
 * slot up to that time counts as handled; a run by hand leaves the schedule's record alone.
 */
export async function executeJob(plan: PlanConfig, job: JobKind, trigger: Trigger, ctx: ExecutorContext, firedAt?: number): Promise<RunRecord> {
  const started = new Date().toISOString();
  await ctx.status.update(plan.name, job, (s) => {
    s.running = { started, trigger };
  });
  ctx.log(`[${plan.name}] ${job} started (${trigger})`);
  const record = await runJob(plan, job, trigger, { env: ctx.env, passwordVariables: ctx.passwordVariables, log: ctx.log, signal: ctx.signal });
  ctx.log(outcomeLine(record));
  for (const w of record.warnings) ctx.log(`[${plan.name}] warning: ${w}`);
  await ctx.status.update(plan.name, job, (s) => {
    s.running = null;
    s.last = record;
    if (record.result === 'success') s.last_success = record.finished;
    if (firedAt !== undefined && !record.interrupted) s.handled_through = new Date(firedAt).toISOString();
  });
  await notify(plan.notify, record, ctx.log);
  return record;
}
