// What to do with something already at a restore's target path, by the --overwrite mode; for an
// existing regular file, which of its blobs already hold the snapshot's bytes (hashed as restic does).

import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { isSystemError } from '../errors.js';
import { sha256 } from '../format/id.js';
import type { FileBlob } from './file-blobs.js';
import type { OverwriteMode } from './restore-options.js';

export type ExistingState =
  | { readonly kind: 'absent' }
  /** Left alone by the overwrite mode. */
  | { readonly kind: 'skip' }
  /** Something that cannot be reused (another type, a hard-linked file): removed, then restored. */
  | { readonly kind: 'replace'; readonly isDir: boolean }
  /** A regular file with the snapshot's content: only its metadata is set. */
  | { readonly kind: 'unchanged' }
  /** A regular file whose blobs `matches[i]` are already right; the others are rewritten. */
  | { readonly kind: 'update'; readonly matches: boolean[] };

/**
 * Which blobs of the file at `path` hold the expected bytes; a file too short for a blob fails
 * that blob and all after it. Throws when the file cannot be opened (a symlink is never followed).
 */
export async function matchingBlobs(path: Buffer, blobs: readonly FileBlob[]): Promise<boolean[]> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buf = Buffer.allocUnsafe(Math.max(0, ...blobs.map((b) => b.length)));
    const matches: boolean[] = [];
    let short = false;
    for (const blob of blobs) {
      if (!short) {
        const { bytesRead } = await handle.read(buf, 0, blob.length, blob.offset);
        short = bytesRead < blob.length;
      }
      matches.push(!short && sha256(buf.subarray(0, blob.length)).toString('hex') === blob.id);
    }
    return matches;
  } finally {
    await handle.close();
  }
}

/** A regular file whose content a restore would write: its size and blobs. */
export interface ExpectedContent {
  readonly size: number;
  readonly blobs: readonly FileBlob[];
}

/**
 * Examines the target path of a node modified at `mtimeNs` (nanoseconds since the epoch).
 * `content` is given for a regular file whose content this restore would write; without it
 * (other types, hard links) an existing entry is replaced.
 */
export async function examineExisting(path: Buffer, mtimeNs: bigint, content: ExpectedContent | undefined, mode: OverwriteMode): Promise<ExistingState> {
  let st;
  try {
    st = await lstat(path, { bigint: true });
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return { kind: 'absent' };
    throw err;
  }
  if (mode === 'never') return { kind: 'skip' };
  if (mode === 'if-newer' && mtimeNs <= st.mtimeNs) return { kind: 'skip' };
  // A file with other links shares its inode with files outside the snapshot: writing it in place
  // would change them too.
  if (!content || !st.isFile() || st.nlink > 1n) return { kind: 'replace', isDir: st.isDirectory() };
  const sizeMatches = st.size === BigInt(content.size);
  if (mode === 'if-changed' && sizeMatches && st.mtimeNs === mtimeNs) return { kind: 'unchanged' };
  const matches = await matchingBlobs(path, content.blobs);
  if (sizeMatches && matches.every((m) => m)) return { kind: 'unchanged' };
  return { kind: 'update', matches };
}
