// The agent's sense of time, injectable so the scheduler can be tested with a clock that jumps:
// the wall clock (what schedules name) and sleeping (elapsed time, which stops while a machine sleeps).

import { setTimeout as delay } from 'node:timers/promises';

export interface Clock {
  /** Wall-clock time, ms since the epoch. */
  now(): number;
  /**
   * Waits about `ms` of elapsed time, or until `signal` aborts. A suspended machine does not
   * count its sleep, so the wall clock may have moved much further when this resolves.
   */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, { signal }).catch(() => undefined),
};
