// The agent daemon: schedules every plan's backup, prune and check, runs them one at a time per
// repository, takes runs asked for by hand from the state directory, and stops cleanly on request.

import { hostname } from 'node:os';
import { messageOf } from '../errors.js';
import type { LogSink } from './agent-log.js';
import { type Clock, systemClock } from './clock.js';
import { passwordVariables } from './config.js';
import type { AgentConfig, JobKind, JobTiming, PlanConfig } from './config-types.js';
import { executeJob, type ExecutorContext } from './job-executor.js';
import { InstanceLock } from './instance-lock.js';
import { localIso } from './local-time.js';
import { repositoryKey } from './plan-repository.js';
import { failedRun, type RunRecord, type Trigger } from './run-record.js';
import { RunQueue } from './run-queue.js';
import { type RunRequest, takeRequests, writeResult } from './run-requests.js';
import { type ScheduledJob, Scheduler } from './scheduler.js';
import { displayLocation } from './secrets.js';
import { StatusStore } from './status-store.js';

export interface AgentOptions {
  readonly log: LogSink;
  readonly env?: NodeJS.ProcessEnv;
  readonly clock?: Clock;
  /** How often the state directory is looked at for runs asked for by hand. */
  readonly requestPollMs?: number;
}

function timings(plan: PlanConfig): Array<[JobKind, JobTiming]> {
  const all: Array<[JobKind, JobTiming | undefined]> = [
    ['backup', plan.backup],
    ['prune', plan.prune?.timing],
    ['check', plan.check?.timing],
  ];
  return all.filter((t): t is [JobKind, JobTiming] => t[1] !== undefined);
}

const jobId = (plan: string, job: JobKind) => `${plan}/${job}`;
const isoOrNull = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

class Daemon {
  private readonly queue = new RunQueue();
  /** Requests being served: their results are written before the agent exits. */
  private readonly serving = new Set<Promise<void>>();
  private readonly plans: ReadonlyMap<string, PlanConfig>;
  private readonly clock: Clock;
  private readonly log: LogSink;

  constructor(
    private readonly config: AgentConfig,
    private readonly status: StatusStore,
    private readonly executor: ExecutorContext,
    private readonly options: AgentOptions,
  ) {
    this.plans = new Map(config.plans.map((p) => [p.name, p]));
    this.clock = options.clock ?? systemClock;
    this.log = options.log;
  }

  /** Queues a run on its repository's queue; a run of the same job already waiting is joined. */
  submit(plan: PlanConfig, job: JobKind, trigger: Trigger, firedAt?: number): Promise<RunRecord> {
    const { result, joined } = this.queue.submit(repositoryKey(plan.repository.location), jobId(plan.name, job), () =>
      executeJob(plan, job, trigger, this.executor, firedAt),
    );
    if (joined) this.log(`[${plan.name}] ${job} is already waiting for its turn; the ${trigger} run joins it`);
    return result;
  }

  private fire(id: string, trigger: Trigger, slot: number, firedAt: number): void {
    const [name, job] = id.split('/') as [string, JobKind];
    const plan = this.plans.get(name)!;
    if (trigger === 'missed') this.log(`[${name}] ${job} due at ${localIso(slot)} was missed (agent stopped, machine asleep or clock changed): running it now`);
    this.submit(plan, job, trigger, firedAt).catch((err) => this.log(`[${name}] ${job} did not run: ${messageOf(err)}`));
  }

  private async serveRequests(signal: AbortSignal): Promise<void> {
    // Requests left from before this start: whoever made them was told the agent had stopped.
    for (const request of await takeRequests(this.config.stateDir)) this.log(`dropped request ${request.id} (${request.plan} ${request.job}) made before the agent started`);
    while (!signal.aborted) {
      for (const request of await takeRequests(this.config.stateDir).catch(() => [] as RunRequest[])) {
        const served = this.serve(request).finally(() => this.serving.delete(served));
        this.serving.add(served);
      }
      await this.clock.sleep(this.options.requestPollMs ?? 1000, signal);
    }
  }

  private async serve(request: RunRequest): Promise<void> {
    const plan = this.plans.get(request.plan);
    let record: RunRecord;
    if (!plan) {
      record = failedRun(request.plan, request.job, 'manual', '', `the running agent has no plan "${request.plan}"; restart it after changing its configuration`);
    } else {
      this.log(`[${plan.name}] ${request.job} asked for by hand`);
      const location = displayLocation(plan.repository.location);
      record = await this.submit(plan, request.job, 'manual').catch((err) => failedRun(plan.name, request.job, 'manual', location, messageOf(err)));
    }
    await writeResult(this.config.stateDir, request.id, record).catch((err) => this.log(`cannot write the result of request ${request.id}: ${messageOf(err)}`));
  }

  async run(signal: AbortSignal): Promise<void> {
    const jobs: ScheduledJob[] = [];
    for (const plan of this.config.plans) {
      for (const [job, timing] of timings(plan)) {
        const handled = this.status.get(plan.name, job)?.handled_through;
        jobs.push({ id: jobId(plan.name, job), schedule: timing.schedule, randomDelayMs: timing.randomDelayMs, runMissed: plan.runMissed, handledThrough: handled ? Date.parse(handled) : undefined });
      }
    }
    const setNext = (id: string, due: number | undefined) => {
      const [plan, job] = id.split('/') as [string, JobKind];
      this.status
        .update(plan, job, (s) => {
          s.next_run = isoOrNull(due);
        })
        .catch((err) => this.log(`cannot write the status file: ${messageOf(err)}`));
    };
    const scheduler = new Scheduler(jobs, {
      clock: this.clock,
      fire: (f) => this.fire(f.id, f.reason, f.slot, f.firedAt),
      onPlanned: setNext,
      onClockBack: (ms) => this.log(`the clock went back by ${Math.round(ms / 1000)}s: next runs planned again from the new time`),
    });
    for (const j of jobs) {
      const next = scheduler.nextRun(j.id);
      setNext(j.id, next);
      this.log(`[${j.id.replace('/', '] ')}: ${j.schedule.text}, next run ${next === undefined ? 'never' : localIso(next)}`);
    }
    await Promise.all([scheduler.run(signal), this.serveRequests(signal)]);
    this.log('stopping: no new runs; a backup in progress stops at a resumable point, a prune finishes');
    this.queue.close();
    await this.queue.idle();
    await Promise.all(this.serving);
  }
}

/** Runs the agent until `signal` aborts; then lets the current runs end cleanly and returns. */
export async function runAgent(config: AgentConfig, signal: AbortSignal, options: AgentOptions): Promise<void> {
  const lock = await InstanceLock.acquire(config.stateDir, 'daemon');
  try {
    const status = await StatusStore.open(config.stateDir);
    for (const s of status.jobs()) {
      if (s.running === null) continue;
      options.log(`[${s.plan}] ${s.job} started ${s.running.started} was cut off when the agent last stopped`);
      await status.update(s.plan, s.job, (j) => {
        j.running = null;
      });
    }
    options.log(`agent started on ${hostname()} (pid ${process.pid}) with ${config.plans.length} plan(s) from ${config.file}; state in ${config.stateDir}`);
    const executor: ExecutorContext = { status, log: options.log, env: options.env ?? process.env, passwordVariables: passwordVariables(config), signal };
    await new Daemon(config, status, executor, options).run(signal);
    options.log('agent stopped');
  } finally {
    await lock.release();
  }
}
