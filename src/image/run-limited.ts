// Bounded parallel work over a lazy sequence (block numbers of a large disk are generated, not
// listed): at most `limit` tasks run, the first failure stops new ones and is thrown after all settle.

import { HoldfastError } from '../errors.js';

export async function runLimited<T>(items: Iterable<T>, limit: number, fn: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  for (const item of items) {
    if (signal?.aborted) failure ??= { error: new HoldfastError('ERR_INTERRUPTED', 'interrupted') };
    if (failure) break;
    const task = fn(item).then(
      () => undefined,
      (error: unknown) => {
        failure ??= { error };
      },
    );
    const tracked = task.finally(() => running.delete(tracked));
    running.add(tracked);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  if (failure) throw failure.error;
}
