// File reads for the backup's hot path. Small files are read with synchronous calls (a few
// microseconds each on a local disk, against tens for a thread-pool round trip, per file); large
// files through fs callbacks and plain descriptors, which cost far less than FileHandle promises.

import { type BigIntStats, close, closeSync, lstatSync, open, openSync, readSync } from 'node:fs';

export function openForReading(path: Buffer): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

/**
 * lstat, synchronously: a few microseconds on a local disk, where the asynchronous call costs
 * several times that in thread-pool hand-offs, once per entry of the walk.
 */
export function lstatBig(path: Buffer): BigIntStats {
  return lstatSync(path, { bigint: true });
}

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
