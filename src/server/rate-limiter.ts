// Paces a reader to an average rate, so a scheduled audit re-reading terabytes leaves the disks
// to the backups. Without a rate it never waits.

import { setTimeout as sleep } from 'node:timers/promises';

export class RateLimiter {
  private readonly start = Date.now();
  private total = 0;

  /** @param bytesPerSecond 0 or less means unlimited. */
  constructor(private readonly bytesPerSecond: number) {}

  async consume(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.bytesPerSecond <= 0) return;
    this.total += bytes;
    const due = this.start + (this.total / this.bytesPerSecond) * 1000;
    const wait = due - Date.now();
    if (wait > 1) await sleep(wait, undefined, { signal });
  }
}
