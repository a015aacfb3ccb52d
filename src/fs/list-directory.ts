// Directory listing in tree order: raw name bytes, sorted the way restic sorts tree nodes, so that
// a walk can emit nodes without another sort and names that are not UTF-8 survive.

import { readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';

/** The names in a directory (without `.` and `..`), sorted by their bytes. */
export async function listDirectory(path: Buffer): Promise<Buffer[]> {
  const names = await readdir(path, { encoding: 'buffer' });
  return names.sort(Buffer.compare);
}

/**
 * The same, synchronously: a walk that lists thousands of directories on a local disk spends
 * more on the thread-pool round trips of the asynchronous call than on the system call itself.
 */
export function listDirectorySync(path: Buffer): Buffer[] {
  return readdirSync(path, { encoding: 'buffer' }).sort(Buffer.compare);
}
