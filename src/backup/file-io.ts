// File reads for the backup's hot path through fs callbacks and plain descriptors: per call they
// cost a fraction of the FileHandle promise API, which adds up over tens of thousands of files.

import { type BigIntStats, close, lstatSync, open, read } from 'node:fs';

export function openForReading(path: Buffer): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

export function readAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/**
 * lstat, synchronously: a few microseconds on a local disk, where the asynchronous call costs
 * several times that in thread-pool hand-offs, once per entry of the walk.
 */
export function lstatBig(path: Buffer): BigIntStats {
  return lstatSync(path, { bigint: true });
}

/**
 * Reads a file expected to be `expected` bytes long in one go into `into` (which must be longer
 * than that). Returns the bytes read, or undefined if the file has grown since it was stat'ed,
 * so the caller reads it in chunks instead; a file that shrank returns what is there.
 */
export async function readWhole(fd: number, expected: number, into: Buffer): Promise<Buffer | undefined> {
  let length = 0;
  // Asking for one byte more than expected tells end of file from a file that grew meanwhile.
  while (length <= expected) {
    const n = await readAt(fd, into, length, expected + 1 - length, length);
    if (n === 0) return into.subarray(0, length);
    length += n;
  }
  return undefined;
}
