// One run at a time per repository: runs wait in a queue per repository key. A job already
// waiting is not queued twice (a short interval or a second trigger joins the waiting run).

import { HoldfastError } from '../errors.js';

export class RunQueue {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, Promise<unknown>>();
  private closed = false;

  /**
   * Runs `task` after everything queued before it for the same key. When a run with the same id
   * is still waiting, returns that run's promise instead (`joined`).
   */
  submit<T>(key: string, id: string, task: () => Promise<T>): { readonly result: Promise<T>; readonly joined: boolean } {
    const existing = this.waiting.get(id);
    if (existing) return { result: existing as Promise<T>, joined: true };
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(() => {
      this.waiting.delete(id);
      if (this.closed) throw new HoldfastError('ERR_INTERRUPTED', 'the agent stopped before this run started');
      return task();
    });
    this.waiting.set(id, result);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return { result, joined: false };
  }

  /** Starts nothing more; runs still waiting fail with ERR_INTERRUPTED. */
  close(): void {
    this.closed = true;
  }

  /** Resolves when every queued run has ended. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all(this.tails.values());
  }
}
