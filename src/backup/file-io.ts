// File reads for the backup's hot path: large files through fs callbacks and plain descriptors,
// which cost far less than FileHandle promises. Small files are read on the crypto workers
// (repository/small-file.ts).

import { type BigIntStats, close, lstatSync, open } from 'node:fs';

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
