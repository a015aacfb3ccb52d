// Reading a small source file whole, on a crypto worker: open, read and close are a few
// microseconds each on a local disk, but tens of thousands of files add up, and the main thread
// is the stage every other one waits for.

import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Reads a whole small file synchronously into `into` (longer than `expected`). Returns the bytes
 * read, or undefined if the file has grown past `expected` since it was stat'ed (the caller then
 * reads it in chunks); a file that shrank returns what is there.
 */
export function readSmallFileSync(path: Buffer, expected: number, into: Buffer): Buffer | undefined {
  const fd = openSync(path, 'r');
  try {
    let length = 0;
    // Asking for one byte more than expected tells end of file from a file that grew meanwhile.
    while (length <= expected) {
      const n = readSync(fd, into, length, expected + 1 - length, length);
      if (n === 0) return into.subarray(0, length);
      length += n;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
