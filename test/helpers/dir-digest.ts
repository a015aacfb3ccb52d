// A digest of everything in a directory tree (names, sizes, contents), to assert that a failed
// command modified nothing.

import { createHash } from 'node:crypto';
import { readdir, readFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';

export async function dirDigest(root: string): Promise<string> {
  const hash = createHash('sha256');
  const visit = async (dir: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const path = join(dir, name);
      const st = await lstat(path);
      hash.update(`${path.slice(root.length)}\0${st.mode}\0${st.size}\0`);
      if (st.isDirectory()) await visit(path);
      else if (st.isFile()) hash.update(await readFile(path));
    }
  };
  await visit(root);
  return hash.digest('hex');
}
