// A listing of a directory tree by raw path: type, mode, owner, size, mtime in nanoseconds, and a
// digest of each file's content or each symlink's target. Two trees are identical when listings are.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface TreeEntry {
  readonly type: 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char' | 'block';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtimeNs: string;
  /** SHA-256 of a file's content or a symlink's target bytes. */
  readonly digest?: string;
}

async function digestFile(path: Buffer): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Every entry below `root` keyed by its relative path (raw bytes, as hex), the root itself
 * excluded: a restore puts it under a name of its own.
 */
export async function listTree(root: string): Promise<Map<string, TreeEntry>> {
  const out = new Map<string, TreeEntry>();
  const visit = async (dir: Buffer, rel: Buffer | null): Promise<void> => {
    for (const name of await readdir(dir, { encoding: 'buffer' })) {
      const path = Buffer.from(join(dir.toString('latin1'), name.toString('latin1')), 'latin1');
      const relPath = rel === null ? name : Buffer.concat([rel, Buffer.from('/'), name]);
      const s = await lstat(path, { bigint: true });
      const type = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : s.isFIFO() ? 'fifo' : s.isSocket() ? 'socket' : s.isCharacterDevice() ? 'char' : 'block';
      const digest =
        type === 'file' ? await digestFile(path) : type === 'symlink' ? createHash('sha256').update(await readlink(path, { encoding: 'buffer' })).digest('hex') : undefined;
      out.set(relPath.toString('hex'), {
        type,
        mode: Number(s.mode & 0o7777n),
        uid: Number(s.uid),
        gid: Number(s.gid),
        // A directory's size is the file system's business, not the backup's.
        size: type === 'dir' ? 0 : Number(s.size),
        mtimeNs: String(s.mtimeNs),
        ...(digest === undefined ? {} : { digest }),
      });
      if (type === 'dir') await visit(path, relPath);
    }
  };
  await visit(Buffer.from(root), null);
  return out;
}

/** The paths on which two listings differ, readable, with what each side has: empty when identical. */
export function treeDifferences(actual: Map<string, TreeEntry>, expected: Map<string, TreeEntry>): string[] {
  const display = (hex: string) => Buffer.from(hex, 'hex').toString('utf8');
  const out: string[] = [];
  for (const [path, want] of expected) {
    const got = actual.get(path);
    if (!got) out.push(`missing: ${display(path)}`);
    else if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`differs: ${display(path)}: ${JSON.stringify(got)} instead of ${JSON.stringify(want)}`);
  }
  for (const path of actual.keys()) if (!expected.has(path)) out.push(`extra: ${display(path)}`);
  return out;
}
