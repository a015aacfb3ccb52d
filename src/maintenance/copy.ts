// copy: snapshots from one repository to another (other key, other polynomial); trees travel as the
// bytes they were stored as, data is verified, and snapshots already copied are skipped as restic skips them.

import type { Snapshot } from '../format/snapshot.js';
import { selectSnapshots } from '../repository/snapshot-selection.js';
import { loadSnapshots, type SnapshotEntry, type SnapshotFilter, saveSnapshot } from '../repository/snapshots.js';
import type { Repository } from '../repository/repository.js';
import { BlobSet } from './blob-set.js';
import { BlobState, repack } from './repack.js';
import { walkTrees } from './used-blobs.js';

export interface CopyOptions {
  /** Source snapshot ids (or `latest`); none: every source snapshot the filter passes. */
  readonly snapshotIds: readonly string[];
  /** Selects source snapshots, and the destination snapshots that count as copies. */
  readonly filter: SnapshotFilter;
  readonly warn: (message: string) => void;
}

export type CopyEvent =
  | { readonly type: 'snapshot'; readonly entry: SnapshotEntry }
  /** Already in the destination as `existing`. */
  | { readonly type: 'skipped'; readonly entry: SnapshotEntry; readonly existing: string }
  | { readonly type: 'blobs'; readonly entry: SnapshotEntry; readonly trees: number; readonly dataBlobs: number; readonly packs: number }
  | { readonly type: 'progress'; readonly done: number; readonly total: number; readonly bytes: number }
  | { readonly type: 'copied'; readonly entry: SnapshotEntry; readonly id: string };

export interface CopyResult {
  readonly copied: { readonly source: string; readonly id: string }[];
  readonly skipped: { readonly source: string; readonly existing: string }[];
  /** Blobs written to the destination (trees and data) and their plaintext bytes. */
  readonly blobs: number;
  readonly bytes: number;
}

function sameInstant(a: Snapshot, b: Snapshot): boolean {
  return a.time.ns === b.time.ns;
}

/** restic's similarSnapshots: everything but parent and original matches (paths and tags as sets). */
export function similarSnapshots(a: Snapshot, b: Snapshot): boolean {
  const paths = (s: Snapshot) => s.paths;
  const tags = (s: Snapshot) => s.tags ?? [];
  const excludes = (s: Snapshot) => s.excludes ?? [];
  return (
    sameInstant(a, b) &&
    a.tree === b.tree &&
    (a.hostname ?? '') === (b.hostname ?? '') &&
    (a.username ?? '') === (b.username ?? '') &&
    (a.uid ?? 0) === (b.uid ?? 0) &&
    (a.gid ?? 0) === (b.gid ?? 0) &&
    paths(a).length === paths(b).length &&
    paths(b).every((p) => paths(a).includes(p)) &&
    tags(a).length === tags(b).length &&
    tags(b).every((t) => tags(a).includes(t)) &&
    excludes(a).length === excludes(b).length &&
    excludes(a).every((e, i) => e === excludes(b)[i])
  );
}

export async function copySnapshots(src: Repository, dst: Repository, options: CopyOptions, onEvent: (e: CopyEvent) => void = () => undefined): Promise<CopyResult> {
  const sources = await selectSnapshots(src, options.snapshotIds, options.filter, options.warn);
  const byOriginal = new Map<string, SnapshotEntry[]>();
  const remember = (key: string, e: SnapshotEntry) => byOriginal.set(key, [...(byOriginal.get(key) ?? []), e]);
  for (const e of await loadSnapshots(dst, options.filter)) {
    if (e.snapshot.original) remember(e.snapshot.original, e);
    remember(e.id, e);
  }
  if (src.index.packCount === 0) await src.loadIndex();
  if (dst.index.packCount === 0) await dst.loadIndex();

  const result: CopyResult = { copied: [], skipped: [], blobs: 0, bytes: 0 };
  let blobs = 0;
  let bytes = 0;
  // Trees walked in this run: a tree shared by several snapshots is copied (and walked) once.
  const visited = new BlobSet();
  for (const entry of sources) {
    const existing = byOriginal.get(entry.snapshot.original ?? entry.id)?.find((e) => similarSnapshots(e.snapshot, entry.snapshot));
    if (existing) {
      result.skipped.push({ source: entry.id, existing: existing.id });
      onEvent({ type: 'skipped', entry, existing: existing.id });
      continue;
    }
    onEvent({ type: 'snapshot', entry });

    const wanted = new BlobSet();
    const packs = new Set<string>();
    const treeSaves: Promise<unknown>[] = [];
    let trees = 0;
    await walkTrees(src, entry.snapshot.tree, visited, async (id, raw, refs) => {
      if (!dst.hasBlob('tree', id)) {
        await dst.ready();
        trees++;
        blobs++;
        bytes += raw.length;
        treeSaves.push(dst.saveBlob('tree', raw, id));
      }
      for (const blob of refs.content) {
        if (dst.hasBlob('data', blob) || !wanted.add('data', blob, BlobState.repack)) continue;
        for (const at of src.index.lookupAll('data', blob)) packs.add(at.packId);
      }
    });
    await Promise.all(treeSaves);
    onEvent({ type: 'blobs', entry, trees, dataBlobs: wanted.size, packs: packs.size });
    const done = await repack(src, dst, [...packs].sort(), wanted, {
      storeDuplicates: false,
      onPack: (n, b) => onEvent({ type: 'progress', done: n, total: packs.size, bytes: b }),
    });
    blobs += done.blobs;
    bytes += done.bytes;

    const copy: Snapshot = { ...entry.snapshot, original: entry.snapshot.original ?? entry.id };
    delete copy.parent;
    const id = await saveSnapshot(dst, copy);
    result.copied.push({ source: entry.id, id });
    onEvent({ type: 'copied', entry, id });
  }
  return { ...result, blobs, bytes };
}
