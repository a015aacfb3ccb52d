// Lets a worker thread run a garbage collection after a given amount of work. A crypto worker
// makes a buffer per blob (the cipher's output); V8 frees them only under memory pressure, so
// without this each worker would hold tens of megabytes of dead buffers at any time.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type: 'minor' | 'major' }) => void;

function exposeGc(): Gc | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as Gc) : undefined;
  } catch {
    // Without it, memory is still bounded by V8's own limits, only higher.
    return undefined;
  }
}

/**
 * Returns a function to call with the bytes just processed; it collects every `budget` bytes. A
 * `young` collection looks only at recent objects: enough for buffers dropped right after use,
 * and far cheaper than a full one.
 */
export function garbageBudget(budget: number, generation: 'all' | 'young' = 'all'): (bytes: number) => void {
  const gc = exposeGc();
  if (!gc) return () => undefined;
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since >= budget) {
      since = 0;
      gc(generation === 'young' ? { type: 'minor' } : undefined);
    }
  };
}
