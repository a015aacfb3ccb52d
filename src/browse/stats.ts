// stats: restic 0.14's four counting modes over the chosen snapshots, plus how well the repository
// deduplicates and compresses them (file bytes against unique blob bytes, plaintext against stored).

import { HoldfastError, invalidArgument } from '../errors.js';
import { hashId } from '../format/id.js';
import type { Node } from '../format/node.js';
import type { BlobType } from '../format/pack.js';
import { loadTree } from '../repository/trees.js';
import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/snapshots.js';
import { blobSize } from './blob-size.js';
import { SubtreePrefetch } from './subtree-prefetch.js';
import { joinPath, nodeName, sortedNodes, walkTree } from './tree-walk.js';

export const statsModes = ['restore-size', 'files-by-contents', 'blobs-per-file', 'raw-data'] as const;
export type StatsMode = (typeof statsModes)[number];

export interface StatsResult {
  readonly snapshotsCount: number;
  /** Bytes as the mode counts them. */
  readonly totalSize: number;
  readonly totalFileCount: number;
  readonly totalBlobCount: number;
  /** Bytes of the files in the snapshots over the plaintext bytes of the unique data blobs (0: no data). */
  readonly deduplicationRatio: number;
  /** Plaintext bytes of the unique blobs over their stored bytes (0: no blobs). */
  readonly compressionRatio: number;
}

export function checkStatsMode(mode: string): StatsMode {
  if (!(statsModes as readonly string[]).includes(mode)) {
    throw invalidArgument(`unknown counting mode: ${mode} (use restore-size, files-by-contents, blobs-per-file or raw-data)`);
  }
  return mode as StatsMode;
}

interface Totals {
  size: number;
  files: number;
  blobs: number;
}

/** restore-size: every node of every snapshot; a hard-linked inode's size once per snapshot. */
async function restoreSize(repo: Repository, tree: string, t: Totals): Promise<void> {
  const inodes = new Set<bigint>();
  await walkTree(repo, tree, ({ node }) => {
    t.files++;
    if (node.inode === 0n || !inodes.has(node.inode)) {
      inodes.add(node.inode);
      t.size += Number(node.size);
    }
    return true;
  });
}

/** The key restic gives a file's contents: the hash of its blob ids in order. */
function contentKey(node: Node): string {
  return hashId(Buffer.from((node.content ?? []).join(''), 'hex'));
}

/**
 * files-by-contents and blobs-per-file count each content once over all snapshots; within one
 * snapshot a subtree met again is skipped, as restic's walker skips it.
 */
class ContentCounter {
  private readonly seenContents = new Set<string>();
  private readonly blobsOfPath = new Map<string, Set<string>>();

  constructor(
    private readonly repo: Repository,
    private readonly byBlobs: boolean,
    private readonly t: Totals,
  ) {}

  async snapshot(tree: string): Promise<void> {
    await this.walk(tree, await loadTree(this.repo, tree), '/', new Set());
  }

  private async walk(tree: string, loaded: Node[], dir: string, seenTrees: Set<string>): Promise<void> {
    const nodes = sortedNodes(loaded);
    const ahead = new SubtreePrefetch(this.repo, nodes);
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      if (node.type === 'dir' && node.subtree !== null && seenTrees.has(node.subtree)) {
        ahead.skip(i);
        continue;
      }
      const path = joinPath(dir, nodeName(node));
      this.count(path, node, tree);
      if (node.type === 'dir' && node.subtree !== null) {
        seenTrees.add(node.subtree);
        await this.walk(node.subtree, await ahead.take(i), path, seenTrees);
      }
    }
  }

  private count(path: string, node: Node, tree: string): void {
    const key = contentKey(node);
    if (this.seenContents.has(key)) return;
    this.seenContents.add(key);
    if (!this.byBlobs) {
      this.t.size += Number(node.size);
      this.t.files++;
      return;
    }
    // restic keys this by the path joined with the name once more; only uniqueness matters.
    for (const id of node.content ?? []) {
      let blobs = this.blobsOfPath.get(path);
      if (!blobs) {
        blobs = new Set();
        this.blobsOfPath.set(path, blobs);
        this.t.files++;
      }
      if (blobs.has(id)) continue;
      const size = blobSize(this.repo, 'data', id);
      if (size === undefined) throw new HoldfastError('ERR_CORRUPT', `blob ${id} not found for tree ${tree}`);
      this.t.size += size.plaintext;
      blobs.add(id);
      this.t.blobs++;
    }
  }
}

/**
 * Every distinct tree once: the unique blobs the snapshots use (raw-data's set) and the bytes of
 * their files, remembered per tree so a subtree shared by many snapshots is summed once.
 */
class StorageWalk {
  readonly blobs = new Map<string, BlobType>();
  private readonly treeBytes = new Map<string, number>();
  logicalBytes = 0;

  constructor(private readonly repo: Repository) {}

  async snapshot(tree: string): Promise<void> {
    this.logicalBytes += this.treeBytes.get(tree) ?? (await this.tree(tree, await loadTree(this.repo, tree)));
  }

  private async tree(id: string, nodes: Node[]): Promise<number> {
    this.blobs.set(id, 'tree');
    const ahead = new SubtreePrefetch(this.repo, nodes);
    let bytes = 0;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      if (node.type === 'file') {
        bytes += Number(node.size);
        for (const blob of node.content ?? []) this.blobs.set(blob, 'data');
      } else if (node.type === 'dir' && node.subtree !== null) {
        const known = this.treeBytes.get(node.subtree);
        if (known !== undefined) ahead.skip(i);
        bytes += known ?? (await this.tree(node.subtree, await ahead.take(i)));
      }
    }
    this.treeBytes.set(id, bytes);
    return bytes;
  }
}

/** The statistics of the given snapshots (the repository's index must be loaded). */
export async function snapshotStats(repo: Repository, snapshots: readonly SnapshotEntry[], mode: StatsMode): Promise<StatsResult> {
  const t: Totals = { size: 0, files: 0, blobs: 0 };
  const storage = new StorageWalk(repo);
  const contents = new ContentCounter(repo, mode === 'blobs-per-file', t);
  for (const { snapshot } of snapshots) {
    if (mode === 'restore-size') await restoreSize(repo, snapshot.tree, t);
    else if (mode === 'files-by-contents' || mode === 'blobs-per-file') await contents.snapshot(snapshot.tree);
    await storage.snapshot(snapshot.tree);
  }
  let uniqueData = 0;
  let plain = 0;
  let stored = 0;
  for (const [id, type] of storage.blobs) {
    const size = blobSize(repo, type, id);
    if (!size) throw new HoldfastError('ERR_CORRUPT', `blob ${type}/${id} not found`);
    plain += size.plaintext;
    stored += size.stored;
    if (type === 'data') uniqueData += size.plaintext;
  }
  if (mode === 'raw-data') {
    t.size = stored;
    t.blobs = storage.blobs.size;
  }
  return {
    snapshotsCount: snapshots.length,
    totalSize: t.size,
    totalFileCount: t.files,
    totalBlobCount: t.blobs,
    deduplicationRatio: uniqueData > 0 ? storage.logicalBytes / uniqueData : 0,
    compressionRatio: stored > 0 ? plain / stored : 0,
  };
}
