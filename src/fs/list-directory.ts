// Directory listing in tree order: raw name bytes, sorted the way restic sorts tree nodes, so that
// a walk can emit nodes without another sort and names that are not UTF-8 survive.

import { readdir } from 'node:fs/promises';

/** The names in a directory (without `.` and `..`), sorted by their bytes. */
export async function listDirectory(path: Buffer): Promise<Buffer[]> {
  const names = await readdir(path, { encoding: 'buffer' });
  return names.sort(Buffer.compare);
}
