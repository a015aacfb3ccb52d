// Run by malloc-tuning.test.ts in a process of its own: frees a 16 MiB buffer (which, left to
// glibc, raises its thresholds), then makes and drops 24 MiB in 1 MiB buffers, and prints how much
// of that the process still holds once V8 has freed them. Argument: `tuned` calls tuneMalloc(),
// `defaults` does not; without one (the test runner runs every file under test/) it does nothing.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { tuneMalloc } from '../src/malloc-tuning.js';

const MiB = 1024 * 1024;
const mode = process.argv[2];

/** V8 frees buffers' memory after a collection, on its own schedule: wait until it is back or a second has passed. */
async function settledRss(gc: () => void, floor: number): Promise<number> {
  gc();
  for (let waited = 0; waited < 1000; waited += 10) {
    if (process.memoryUsage.rss() - floor < 2 * MiB) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return process.memoryUsage.rss();
}

async function probe(tune: boolean): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const tuned = tune ? tuneMalloc() : false;
  let big: Buffer | undefined = Buffer.alloc(16 * MiB, 1);
  const beforeBig = process.memoryUsage.rss() - big.length;
  big = undefined;
  const before = await settledRss(gc, beforeBig);
  const many: Buffer[] = Array.from({ length: 24 }, () => Buffer.alloc(MiB, 1));
  const during = process.memoryUsage.rss();
  many.length = 0;
  const after = await settledRss(gc, before);
  process.stdout.write(JSON.stringify({ tuned, grewMiB: (during - before) / MiB, keptMiB: (after - before) / MiB }));
}

if (mode === 'tuned' || mode === 'defaults') await probe(mode === 'tuned');
