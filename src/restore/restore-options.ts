// What a caller can ask of a restore: where to, which part of the snapshot, what to do with files
// already in the target, and the limits that bound its memory and parallelism.

import type { SnapshotFilter } from '../repository/snapshots.js';
import type { SelectionPatterns } from './selection.js';

/**
 * What happens to a file that exists in the target (restic >= 0.17's --overwrite):
 * - `always`: rewritten where its content differs (existing blobs are hashed, equal ones kept);
 * - `if-changed`: like always, but a file whose size and mtime match is trusted without reading;
 * - `if-newer`: replaced only when the snapshot's copy has a newer mtime;
 * - `never`: left alone.
 */
export type OverwriteMode = 'always' | 'if-changed' | 'if-newer' | 'never';

export const overwriteModes: readonly OverwriteMode[] = ['always', 'if-changed', 'if-newer', 'never'];

export interface RestoreOptions extends SelectionPatterns {
  /** Picks the snapshot when it is given as `latest`. */
  readonly filter?: SnapshotFilter;
  readonly overwrite?: OverwriteMode;
  /** Remove what the target holds but the snapshot does not (among the selected paths). */
  readonly delete?: boolean;
  /** Decide and report everything, change nothing. */
  readonly dryRun?: boolean;
  /** Leave all-zero blocks of new files as holes (default true). */
  readonly sparse?: boolean;
  /** Read every restored file back afterwards and check each blob's hash (restic's --verify). */
  readonly verify?: boolean;
  /** Pack files read at the same time (default 4). */
  readonly packConcurrency?: number;
  /** Bytes of pack data read and not written yet, at most (default 64 MiB). */
  readonly memoryLimit?: number;
  /** Threads that verify and write blobs (default: one per core, up to 8). */
  readonly threads?: number;
  /** Stops the restore: files not complete yet are removed, and the call throws ERR_INTERRUPTED. */
  readonly signal?: AbortSignal;
}
