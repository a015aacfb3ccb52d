// repair snapshots as restic (master) does: files lose missing data blobs, unreadable directories
// become empty, unreadable nodes go; a snapshot whose root tree cannot be read is removed.

import { CRYPTO_OVERHEAD } from '../format/crypto.js';
import { selectSnapshots } from '../repository/snapshot-selection.js';
import type { SnapshotEntry, SnapshotFilter } from '../repository/snapshots.js';
import type { Repository } from '../repository/repository.js';
import { type ReplaceOutcome, replaceSnapshot } from './snapshot-replace.js';
import { type NodeEdit, TreeRewriter } from './tree-rewriter.js';

export interface RepairSnapshotsOptions {
  readonly snapshotIds: readonly string[];
  readonly filter: SnapshotFilter;
  /** Remove the damaged snapshots instead of tagging the repaired ones 'repaired'. */
  readonly forget: boolean;
  readonly dryRun: boolean;
  readonly warn: (message: string) => void;
}

export type RepairSnapshotsEvent =
  | { readonly type: 'snapshot'; readonly entry: SnapshotEntry }
  /** What was done to one node or directory, in restic's words. */
  | { readonly type: 'repair'; readonly message: string }
  | { readonly type: 'outcome'; readonly entry: SnapshotEntry; readonly outcome: ReplaceOutcome };

export interface RepairSnapshotsResult {
  readonly changed: number;
  readonly snapshots: number;
}

export async function repairSnapshots(repo: Repository, options: RepairSnapshotsOptions, onEvent: (e: RepairSnapshotsEvent) => void = () => undefined): Promise<RepairSnapshotsResult> {
  const snapshots = await selectSnapshots(repo, options.snapshotIds, options.filter, options.warn);
  if (repo.index.packCount === 0) await repo.loadIndex();
  const note = (message: string) => onEvent({ type: 'repair', message });
  const quote = JSON.stringify;
  const rewriter = new TreeRewriter(
    repo,
    {
      pathDependent: false,
      node: (node, path, problem): NodeEdit | null | undefined => {
        if (!node) {
          note(`  dir ${quote(path)}: removed a node that cannot be read (${problem ?? 'unknown problem'})`);
          return null;
        }
        if (node.type === 'irregular') {
          note(`  file ${quote(path)}: removed node with invalid type ${quote(node.type)}`);
          return null;
        }
        if (node.type !== 'file') return undefined;
        const content = node.content ?? [];
        const kept: string[] = [];
        let size = 0n;
        for (const id of content) {
          const at = repo.index.lookup('data', id);
          if (!at) continue;
          kept.push(id);
          size += BigInt(at.uncompressedLength ?? at.length - CRYPTO_OVERHEAD);
        }
        if (kept.length !== content.length) note(`  file ${quote(path)}: removed missing content`);
        else if (size !== node.size) note(`  file ${quote(path)}: fixed incorrect size`);
        else if (node.content !== null) return undefined;
        return { content: kept, size };
      },
      failedTree: (_id, path) => {
        if (path === '/') {
          note(`  dir ${quote(path)}: not readable`);
          return 'drop';
        }
        note(`  dir ${quote(path)}: replaced with empty directory`);
        return 'empty';
      },
    },
    options.dryRun,
  );
  let changed = 0;
  for (const entry of snapshots) {
    onEvent({ type: 'snapshot', entry });
    const tree = await rewriter.rewrite('/', entry.snapshot.tree);
    await rewriter.flush();
    const outcome = await replaceSnapshot(repo, entry, tree, { dryRun: options.dryRun, forget: options.forget, tag: 'repaired', updateSummary: false });
    if (outcome.kind !== 'unchanged') changed++;
    onEvent({ type: 'outcome', entry, outcome });
  }
  return { changed, snapshots: snapshots.length };
}
