// A clock for scheduler tests: elapsed time moves only when a test advances it, and the wall
// clock can jump on its own, as it does when a machine sleeps or someone sets the time.

import type { Clock } from '../../src/agent/clock.js';

interface Sleeper {
  readonly until: number;
  readonly resolve: () => void;
}

/** Lets the code under test run up to its next wait. */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export class FakeClock implements Clock {
  private elapsed = 0;
  private sleepers: Sleeper[] = [];

  constructor(private wall: number) {}

  now(): number {
    return this.wall;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const onAbort = () => resolve();
      signal.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push({
        until: this.elapsed + ms,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      });
    });
  }

  /** Time passes on both clocks; every wait that ends on the way ends, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.elapsed + ms;
    await settle();
    for (;;) {
      const next = this.sleepers.filter((s) => s.until <= target).sort((a, b) => a.until - b.until)[0];
      if (!next) break;
      this.wall += next.until - this.elapsed;
      this.elapsed = next.until;
      this.sleepers = this.sleepers.filter((s) => s !== next);
      next.resolve();
      await settle();
    }
    this.wall += target - this.elapsed;
    this.elapsed = target;
  }

  /** The wall clock moves without elapsed time: a suspended machine, or the time being set. */
  jump(ms: number): void {
    this.wall += ms;
  }
}
