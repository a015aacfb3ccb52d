// When a job is due: a cron expression in local time, or a fixed interval (`every: 10s`) counted
// from the Unix epoch, so that both are pure functions of the time and need no state to resume.

import { invalidArgument } from '../errors.js';
import { parseDuration } from './duration.js';

export interface Schedule {
  /** As written in the configuration, for logs and status. */
  readonly text: string;
  /** The first time after `after` (ms since the epoch) that the job is due; undefined if never. */
  next(after: number): number | undefined;
}

export class EverySchedule implements Schedule {
  readonly text: string;

  constructor(readonly intervalMs: number, text: string) {
    this.text = `every ${text}`;
  }

  static parse(text: string): EverySchedule {
    const ms = parseDuration(text);
    if (ms < 1000 || ms % 1000 !== 0) throw invalidArgument(`interval "${text}" must be a whole number of seconds, at least 1s`);
    return new EverySchedule(ms, text);
  }

  next(after: number): number {
    return (Math.floor(after / this.intervalMs) + 1) * this.intervalMs;
  }
}
