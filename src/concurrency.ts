// Bounded concurrency used by every layer: a counting semaphore and limited parallel loops.
// Like errors.ts it imports nothing and sits below all layers.

export class Semaphore {
  private available: number;
  /** Waiters from `head` on: shift() would copy a long array on every release. */
  private waiting: (() => void)[] = [];
  private head = 0;

  constructor(readonly limit: number) {
    this.available = limit;
  }

  async acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    if (this.head === this.waiting.length) {
      this.available++;
      return;
    }
    const next = this.waiting[this.head++]!;
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    next();
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}

/**
 * Runs `fn` over items with at most `limit` running at once; the first failure is thrown after all
 * settle. Items are taken as they are needed, so a generator's items need not all exist at once.
 */
export async function forEachLimited<T>(items: Iterable<T>, limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let next = 0;
  let failure: { error: unknown } | undefined;
  const runners = Array.from({ length: limit }, async () => {
    while (!failure) {
      const item = iterator.next();
      if (item.done) return;
      const i = next++;
      try {
        await fn(item.value, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  });
  await Promise.all(runners);
  if (failure) throw failure.error;
}

/** Like forEachLimited, collecting results in input order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  await forEachLimited(items, limit, async (item, i) => {
    results[i] = await fn(item, i);
  });
  return results;
}
