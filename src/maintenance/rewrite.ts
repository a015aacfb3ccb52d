// rewrite: new snapshots without the files that match excludes (restic's rewrite --exclude), the old
// one recorded in `original` and tagged away, or with forget removed.

import { HoldfastError } from '../errors.js';
import type { Node } from '../format/node.js';
import { selectSnapshots } from '../repository/snapshot-selection.js';
import type { SnapshotEntry, SnapshotFilter } from '../repository/snapshots.js';
import type { Repository } from '../repository/repository.js';
import { type ReplaceOutcome, replaceSnapshot } from './snapshot-replace.js';
import { TreeRewriter } from './tree-rewriter.js';

export interface RewriteOptions {
  /** True for a path (from the snapshot's root, e.g. /home/me/file) to leave out; directories are not entered. */
  readonly exclude: (path: string, node: Node) => boolean;
  /** Snapshot ids (or `latest`); none: every snapshot the filter passes. */
  readonly snapshotIds: readonly string[];
  readonly filter: SnapshotFilter;
  /** Remove the old snapshots instead of tagging the new ones 'rewrite'. */
  readonly forget: boolean;
  readonly dryRun: boolean;
  readonly warn: (message: string) => void;
}

export type RewriteEvent =
  | { readonly type: 'snapshot'; readonly entry: SnapshotEntry }
  | { readonly type: 'excluded'; readonly path: string }
  | { readonly type: 'outcome'; readonly entry: SnapshotEntry; readonly outcome: ReplaceOutcome };

export interface RewriteResult {
  /** Snapshots that were (or, in a dry run, would be) replaced. */
  readonly changed: number;
  readonly snapshots: number;
}

export async function rewriteSnapshots(repo: Repository, options: RewriteOptions, onEvent: (e: RewriteEvent) => void = () => undefined): Promise<RewriteResult> {
  const snapshots = await selectSnapshots(repo, options.snapshotIds, options.filter, options.warn);
  if (repo.index.packCount === 0) await repo.loadIndex();
  const rewriter = new TreeRewriter(
    repo,
    {
      pathDependent: true,
      node: (node, path, problem) => {
        if (!node) throw new HoldfastError('ERR_CORRUPT', `cannot rewrite ${path}: a node cannot be read (${problem ?? 'unknown problem'}); see "holdfast repair snapshots"`);
        if (!options.exclude(path, node)) return undefined;
        onEvent({ type: 'excluded', path });
        return null;
      },
    },
    options.dryRun,
  );
  let changed = 0;
  for (const entry of snapshots) {
    onEvent({ type: 'snapshot', entry });
    const tree = await rewriter.rewrite('/', entry.snapshot.tree);
    await rewriter.flush();
    const outcome = await replaceSnapshot(repo, entry, tree, { dryRun: options.dryRun, forget: options.forget, tag: 'rewrite', updateSummary: true });
    if (outcome.kind !== 'unchanged') changed++;
    onEvent({ type: 'outcome', entry, outcome });
  }
  return { changed, snapshots: snapshots.length };
}
