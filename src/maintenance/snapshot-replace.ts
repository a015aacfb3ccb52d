// The last step of rewrite and repair snapshots (restic's filterAndReplaceSnapshot): a new snapshot
// for the rewritten tree, naming the old one in `original`; a snapshot whose root is gone is removed.

import type { Snapshot } from '../format/snapshot.js';
import { type SnapshotEntry, saveSnapshot } from '../repository/snapshots.js';
import type { Repository } from '../repository/repository.js';
import type { RewrittenTree } from './tree-rewriter.js';

export interface ReplaceOptions {
  readonly dryRun: boolean;
  /** Remove the old snapshot instead of tagging the new one. */
  readonly forget: boolean;
  /** Tag for the new snapshot when the old one stays ('rewrite', 'repaired'). */
  readonly tag: string;
  /** Set the summary's file and byte totals (if the snapshot has a summary) to the new tree's. */
  readonly updateSummary: boolean;
}

export type ReplaceOutcome =
  | { readonly kind: 'unchanged' }
  /** The tree is gone (repair: the root is unreadable): the snapshot was (or would be) removed. */
  | { readonly kind: 'removed' }
  /** A new snapshot was saved (its id; undefined in a dry run); `forgotten`: the old one was removed. */
  | { readonly kind: 'replaced'; readonly id: string | undefined; readonly forgotten: boolean };

/** Call after the trees are flushed: the new snapshot must not name blobs that are not stored. */
export async function replaceSnapshot(repo: Repository, entry: SnapshotEntry, tree: RewrittenTree, options: ReplaceOptions): Promise<ReplaceOutcome> {
  const old = entry.snapshot;
  if (tree.id === null) {
    if (!options.dryRun) await repo.backend.remove({ type: 'snapshots', name: entry.id });
    return { kind: 'removed' };
  }
  if (tree.id === old.tree) return { kind: 'unchanged' };
  if (options.dryRun) return { kind: 'replaced', id: undefined, forgotten: options.forget };

  const sn: Snapshot = { ...old, tree: tree.id, original: entry.id };
  if (old.summary && options.updateSummary) sn.summary = { ...old.summary, totalFilesProcessed: tree.files, totalBytesProcessed: Number(tree.bytes) };
  if (!options.forget && !(old.tags ?? []).includes(options.tag)) sn.tags = [...(old.tags ?? []), options.tag];
  const id = await saveSnapshot(repo, sn);
  if (options.forget) await repo.backend.remove({ type: 'snapshots', name: entry.id });
  return { kind: 'replaced', id, forgotten: options.forget };
}
