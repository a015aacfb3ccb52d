// What one run of a job produced, in the one JSON shape the status file, webhooks and
// `agent run --json` share, and as HOLDFAST_* variables for after hooks.

import type { JobKind } from './config-types.js';

/** Why a run started: its schedule, a slot missed while asleep or stopped, or a person. */
export type Trigger = 'schedule' | 'missed' | 'manual';

export type Outcome = 'success' | 'failure';

export interface RunRecord {
  readonly plan: string;
  readonly job: JobKind;
  readonly trigger: Trigger;
  readonly result: Outcome;
  /** UTC, RFC 3339. */
  readonly started: string;
  readonly finished: string;
  readonly duration_seconds: number;
  /** Without its secret. */
  readonly repository: string;
  readonly snapshot_id: string | null;
  readonly error: string | null;
  /** Stopped because the agent was stopping; such a run is not counted as done for its slot. */
  readonly interrupted: boolean;
  /** Counts by name (files_new, data_added, snapshots_removed, check_errors, ...). */
  readonly summary: Readonly<Record<string, number>>;
  /** Problems that did not fail the run: unreadable files, failed after hooks. */
  readonly warnings: readonly string[];
}

/** The record of a run that could not even start (unknown plan, agent stopping). */
export function failedRun(plan: string, job: JobKind, trigger: Trigger, repository: string, error: string): RunRecord {
  const now = new Date().toISOString();
  return { plan, job, trigger, result: 'failure', started: now, finished: now, duration_seconds: 0, repository, snapshot_id: null, error, interrupted: false, summary: {}, warnings: [] };
}

/** The variables that describe a run to a hook, before (no result yet) or after it. */
export function runEnvironment(r: Pick<RunRecord, 'plan' | 'job' | 'trigger' | 'repository' | 'started'> & Partial<RunRecord>): Record<string, string> {
  const env: Record<string, string> = {
    HOLDFAST_PLAN: r.plan,
    HOLDFAST_JOB: r.job,
    HOLDFAST_TRIGGER: r.trigger,
    HOLDFAST_REPOSITORY: r.repository,
    HOLDFAST_STARTED: r.started,
  };
  if (r.result === undefined) return env;
  env.HOLDFAST_RESULT = r.result;
  env.HOLDFAST_FINISHED = r.finished ?? '';
  env.HOLDFAST_DURATION = String(r.duration_seconds ?? 0);
  env.HOLDFAST_SNAPSHOT_ID = r.snapshot_id ?? '';
  env.HOLDFAST_ERROR = r.error ?? '';
  env.HOLDFAST_WARNINGS = String(r.warnings?.length ?? 0);
  for (const [name, value] of Object.entries(r.summary ?? {})) env[`HOLDFAST_${name.toUpperCase()}`] = String(value);
  return env;
}
