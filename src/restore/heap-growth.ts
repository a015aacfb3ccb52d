// While a restore runs, V8 may let the heap grow by a fifth of what was live at the last full
// collection before it collects again, instead of by up to four times. A restore holds its plan
// (tens of megabytes for a large tree) and promotes short-lived data all the time, so with V8's own
// choice the heap reaches several times the plan, and even half again as much is 25-30 MiB of
// garbage at the peak for the Linux tree; collecting more often costs little next to the rest.

import { setFlagsFromString } from 'node:v8';

let running = 0;

/** Limits the heap's growth until the function returned is called; restores at once share the limit. */
export function limitHeapGrowth(): () => void {
  if (running++ === 0) setFlagsFromString('--heap-growing-percent=20');
  return () => {
    // 0 is V8's default: the growth is chosen from the collector's speed again.
    if (--running === 0) setFlagsFromString('--heap-growing-percent=0');
  };
}
