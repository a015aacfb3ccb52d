// `agent run PLAN`: while the daemon runs, the run is asked of it (so it queues behind the
// repository's other runs); otherwise it runs here, holding the state directory like the daemon would.

import type { LogSink } from './agent-log.js';
import { findPlan, passwordVariables } from './config.js';
import type { AgentConfig, JobKind } from './config-types.js';
import { InstanceLock, readInstance } from './instance-lock.js';
import { executeJob } from './job-executor.js';
import type { RunRecord } from './run-record.js';
import { requestRun, waitForResult } from './run-requests.js';
import { StatusStore } from './status-store.js';

export interface ManualRunOptions {
  readonly log: LogSink;
  readonly env: NodeJS.ProcessEnv;
  /** Stops a run made here cleanly; for a run in the daemon, only stops waiting for it. */
  readonly signal: AbortSignal;
  /** With a daemon: wait for the run's result (else return once the daemon has the request). */
  readonly wait: boolean;
}

export type ManualRunOutcome =
  | { readonly via: 'agent'; readonly pid: number; readonly requestId: string; readonly record: RunRecord | undefined }
  | { readonly via: 'here'; readonly record: RunRecord };

export async function runByHand(config: AgentConfig, planName: string, job: JobKind, o: ManualRunOptions): Promise<ManualRunOutcome> {
  const plan = findPlan(config, planName);
  const daemon = await readInstance(config.stateDir);
  if (daemon?.mode === 'daemon') {
    const request = await requestRun(config.stateDir, plan.name, job);
    const alive = async () => (await readInstance(config.stateDir))?.pid === daemon.pid;
    const record = o.wait ? await waitForResult(config.stateDir, request.id, alive, o.signal) : undefined;
    return { via: 'agent', pid: daemon.pid, requestId: request.id, record };
  }
  const lock = await InstanceLock.acquire(config.stateDir, 'run');
  try {
    const status = await StatusStore.open(config.stateDir);
    return { via: 'here', record: await executeJob(plan, job, 'manual', { status, log: o.log, env: o.env, passwordVariables: passwordVariables(config), signal: o.signal }) };
  } finally {
    await lock.release();
  }
}
