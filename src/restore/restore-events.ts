// What a restore reports while it runs (typed events for progress bars, JSON lines and logs) and
// what it returns: counts, and every error with the path it concerns.

import type { NodeType } from '../format/file-mode.js';
import type { SnapshotEntry } from '../repository/snapshots.js';

/**
 * restored: written from the snapshot; updated: an existing file rewritten where it differed;
 * unchanged: an existing file that already had the content (only its metadata was set);
 * skipped: left alone by --overwrite, or a node type that cannot be restored; deleted: by --delete.
 */
export type RestoreAction = 'restored' | 'updated' | 'unchanged' | 'skipped' | 'deleted';

export type RestoreEvent =
  | { readonly type: 'start'; readonly snapshot: SnapshotEntry; readonly target: string }
  /** The walk is complete: how much the restore holds (files and bytes may be under way already). */
  | { readonly type: 'totals'; readonly files: number; readonly dirs: number; readonly bytes: number }
  | { readonly type: 'item'; readonly action: RestoreAction; readonly kind: NodeType; readonly location: string; readonly size: number }
  /** File content written (or found already in place). */
  | { readonly type: 'bytes'; readonly bytes: number }
  | { readonly type: 'error'; readonly location: string; readonly message: string }
  | { readonly type: 'warning'; readonly message: string }
  /** The walk is over and what it started finishes (content), then directory metadata, then --verify. */
  | { readonly type: 'phase'; readonly phase: 'content' | 'metadata' | 'verify' };

export type RestoreEventHandler = (event: RestoreEvent) => void;

export interface RestoreError {
  /** The path inside the restored tree. */
  readonly location: string;
  readonly message: string;
}

export interface RestoreCounts {
  /** Files (every kind but directories) and their content bytes the snapshot part holds. */
  totalFiles: number;
  totalBytes: number;
  filesRestored: number;
  filesUpdated: number;
  filesUnchanged: number;
  filesSkipped: number;
  dirs: number;
  deleted: number;
  /** Content bytes written. */
  bytesRestored: number;
  /** Content bytes not written: files skipped or already in place. */
  bytesSkipped: number;
  /** Files read back by verify. */
  filesVerified: number;
}

export interface RestoreResult {
  readonly snapshotId: string;
  readonly target: string;
  readonly dryRun: boolean;
  readonly counts: RestoreCounts;
  readonly errors: readonly RestoreError[];
  readonly durationMs: number;
}
