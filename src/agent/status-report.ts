// `agent status`: for each plan and job the last run, its result and duration, the last success
// and the next run, from the configuration and the status file the agent keeps.

import type { AgentConfig, JobKind, JobTiming, PlanConfig } from './config-types.js';
import { readInstance } from './instance-lock.js';
import type { RunRecord, Trigger } from './run-record.js';
import { readStatus } from './status-store.js';

export interface JobReport {
  readonly plan: string;
  readonly job: JobKind;
  /** The schedule as written; null for a job that only runs by hand. */
  readonly schedule: string | null;
  readonly next_run: string | null;
  readonly running: { readonly started: string; readonly trigger: Trigger } | null;
  readonly last: RunRecord | null;
  readonly last_success: string | null;
}

export interface StatusReport {
  readonly agent: { readonly running: boolean; readonly pid: number | null; readonly since: string | null; readonly state_dir: string };
  readonly jobs: JobReport[];
}

const kinds: readonly JobKind[] = ['backup', 'prune', 'check'];
const isoOrNull = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

function timingOf(plan: PlanConfig, job: JobKind): JobTiming | undefined {
  return job === 'backup' ? plan.backup : job === 'prune' ? plan.prune?.timing : plan.check?.timing;
}

export async function statusReport(config: AgentConfig, now = Date.now()): Promise<StatusReport> {
  const doc = await readStatus(config.stateDir);
  const instance = await readInstance(config.stateDir);
  const daemon = instance?.mode === 'daemon';
  const jobs: JobReport[] = [];
  for (const plan of config.plans) {
    for (const job of kinds) {
      const stored = doc.jobs.find((j) => j.plan === plan.name && j.job === job);
      const timing = timingOf(plan, job);
      // Every plan backs up; prune and check appear when configured or once they have run.
      const configured = job === 'backup' || (job === 'prune' ? plan.prune : plan.check) !== undefined;
      if (!configured && stored === undefined) continue;
      // Without the daemon, the next run is when its schedule would run it.
      let next: string | null = null;
      if (daemon) next = stored?.next_run ?? null;
      else if (timing) next = isoOrNull(timing.schedule.next(now));
      jobs.push({
        plan: plan.name,
        job,
        schedule: timing?.schedule.text ?? null,
        next_run: next,
        running: instance ? (stored?.running ?? null) : null,
        last: stored?.last ?? null,
        last_success: stored?.last_success ?? null,
      });
    }
  }
  return {
    agent: { running: daemon, pid: daemon ? instance.pid : null, since: daemon ? instance.started : null, state_dir: config.stateDir },
    jobs,
  };
}
