// Lets a worker thread run a garbage collection after a given amount of work. A crypto worker
// makes a buffer per blob (the cipher's output); V8 frees them only under memory pressure, so
// without this each worker would hold tens of megabytes of dead buffers at any time. And lets a
// command give memory back between phases that leave much garbage behind.

import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const require = createRequire(import.meta.url);

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
 * and far cheaper than a full one; `release` is releaseMemory(), started and not waited for.
 */
export function garbageBudget(budget: number, kind: 'full' | 'young' | 'release' = 'full'): (bytes: number) => void {
  const gc = kind === 'release' ? undefined : exposeGc();
  if (kind !== 'release' && !gc) return () => undefined;
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < budget) return;
    since = 0;
    if (kind === 'release') void releaseMemory();
    else gc!(kind === 'young' ? { type: 'minor' } : undefined);
  };
}

/**
 * A full collection that also gives back what V8 keeps for later: the young generation at the
 * largest size it grew to (32 MiB after parsing the index files of a big repository, however
 * little it holds afterwards) and emptied pages. V8 does that only when told memory is short, and
 * the inspector's collectGarbage (DevTools' button) is the way a process can tell it. Without an
 * inspector in this build of Node, a plain full collection.
 */
export function releaseMemory(): Promise<void> {
  let session: import('node:inspector').Session;
  try {
    session = new (require('node:inspector') as typeof import('node:inspector')).Session();
    session.connect();
  } catch {
    exposeGc()?.();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    session.post('HeapProfiler.collectGarbage', () => {
      // Not from within the inspector's own callback, which hangs Node 20. A connected session
      // would also route every console call through the inspector.
      setImmediate(() => {
        session.disconnect();
        resolve();
      });
    });
  });
}
