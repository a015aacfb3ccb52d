// Decides when each scheduled job fires: the next slot of its schedule plus a random delay; a slot
// missed while the agent was stopped or the machine slept fires once, as soon as that is noticed.

import type { Clock } from './clock.js';
import type { Schedule } from './schedule.js';

export interface ScheduledJob {
  readonly id: string;
  readonly schedule: Schedule;
  /** Each run starts up to this long after its slot, at random (spreads many machines out). */
  readonly randomDelayMs: number;
  /** Whether a slot that passed unnoticed still runs (once) when the agent notices it. */
  readonly runMissed: boolean;
  /** From the status file: every slot up to this time was run. Undefined if the job never ran. */
  readonly handledThrough: number | undefined;
}

export type FireReason = 'schedule' | 'missed';

export interface Firing {
  readonly id: string;
  readonly reason: FireReason;
  /** The slot of the schedule this run is for (the earliest one missed, for a missed run). */
  readonly slot: number;
  readonly firedAt: number;
}

export interface SchedulerOptions {
  readonly clock: Clock;
  readonly fire: (firing: Firing) => void;
  /** A job's next run was (re)planned: for the status file. */
  readonly onPlanned?: (id: string, due: number | undefined) => void;
  /** The wall clock went backwards this far: the slots were computed again from the new time. */
  readonly onClockBack?: (ms: number) => void;
  readonly random?: () => number;
  /**
   * Longest single wait. Timers count elapsed time, which stands still while the machine sleeps;
   * waking up at least this often notices a wall clock that moved on, and runs what was missed.
   */
  readonly maxSleepMs?: number;
  /** A job firing later than this after its due time was missed (the machine slept, the clock jumped). */
  readonly lateAfterMs?: number;
}

/** Steps back smaller than this (NTP corrections) leave the plan alone. */
const CLOCK_BACK_TOLERANCE_MS = 60_000;

interface Entry {
  readonly job: ScheduledJob;
  slot: number | undefined;
  due: number | undefined;
  missed: boolean;
}

export class Scheduler {
  private readonly entries: Entry[];
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly maxSleepMs: number;
  private readonly lateAfterMs: number;

  constructor(jobs: readonly ScheduledJob[], private readonly options: SchedulerOptions) {
    this.clock = options.clock;
    this.random = options.random ?? Math.random;
    this.maxSleepMs = options.maxSleepMs ?? 60_000;
    this.lateAfterMs = options.lateAfterMs ?? 90_000;
    const now = this.clock.now();
    this.entries = jobs.map((job) => {
      const entry: Entry = { job, slot: undefined, due: undefined, missed: false };
      const missedSlot = job.runMissed && job.handledThrough !== undefined ? job.schedule.next(job.handledThrough) : undefined;
      if (missedSlot !== undefined && missedSlot <= now) {
        entry.slot = missedSlot;
        entry.due = now + this.delay(job);
        entry.missed = true;
      } else {
        this.plan(entry, now);
      }
      return entry;
    });
  }

  /** When a job fires next (its slot plus its random delay); undefined if never. */
  nextRun(id: string): number | undefined {
    return this.entries.find((e) => e.job.id === id)?.due;
  }

  /** Fires jobs as they come due until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    let last = this.clock.now();
    while (!signal.aborted) {
      const now = this.clock.now();
      if (now < last - CLOCK_BACK_TOLERANCE_MS) {
        this.options.onClockBack?.(last - now);
        for (const e of this.entries) if (!e.missed) this.plan(e, now);
      }
      last = now;
      for (const e of this.entries) {
        if (e.due === undefined || e.due > now || e.slot === undefined) continue;
        const missed = e.missed || now - e.due > this.lateAfterMs;
        this.options.fire({ id: e.job.id, reason: missed ? 'missed' : 'schedule', slot: e.slot, firedAt: now });
        this.plan(e, now);
      }
      const dues = this.entries.map((e) => e.due).filter((d): d is number => d !== undefined);
      const wait = dues.length === 0 ? this.maxSleepMs : Math.min(Math.max(Math.min(...dues) - now, 1), this.maxSleepMs);
      await this.clock.sleep(wait, signal);
    }
  }

  private plan(e: Entry, now: number): void {
    e.slot = e.job.schedule.next(now);
    e.due = e.slot === undefined ? undefined : e.slot + this.delay(e.job);
    e.missed = false;
    this.options.onPlanned?.(e.job.id, e.due);
  }

  private delay(job: ScheduledJob): number {
    return Math.floor(this.random() * job.randomDelayMs);
  }
}
