// prune: removes data no snapshot uses, planned as restic 0.14 plans it and changed in an order
// where a kill at any point leaves a consistent repository: packs are deleted only after the index.

import { forEachLimited } from '../concurrency.js';
import { HoldfastError, invalidArgument, messageOf } from '../errors.js';
import { shortId } from '../format/id.js';
import type { PackedBlob } from '../format/pack.js';
import { loadSnapshot } from '../repository/snapshots.js';
import { garbageBudget } from '../repository/collect-garbage.js';
import { DEFAULT_PACK_SIZE, type Repository } from '../repository/repository.js';
import { BlobSet } from './blob-set.js';
import { crashPoint } from './crash-point.js';
import { writeIndexFiles } from './index-rewrite.js';
import { markKeptBlobs, type MaxUnused, planPrune, type PruneStats } from './prune-plan.js';
import { repack } from './repack.js';
import { findUsedBlobs } from './used-blobs.js';

export type { MaxUnused, PruneStats } from './prune-plan.js';
export { parseMaxUnused } from './prune-plan.js';

export interface PruneOptions {
  /** Unused space tolerated after the prune; default 5% (of the repository's size after it). */
  readonly maxUnused?: MaxUnused;
  /** Repack at most this many bytes; default unlimited. */
  readonly maxRepackBytes?: number;
  /** Repack only tree packs. */
  readonly repackCacheableOnly?: boolean;
  /** Repack packs below 80% of the pack size. */
  readonly repackSmall?: boolean;
  /** Repack packs with uncompressed blobs, to compress them (version 2 only). */
  readonly repackUncompressed?: boolean;
  /** Plan and report, change nothing. */
  readonly dryRun?: boolean;
  /** Target pack size in bytes, for "small pack" decisions; default 16 MiB. */
  readonly packSize?: number;
  /** Snapshots to treat as gone (forget --prune --dry-run: the ones forget would remove). */
  readonly ignoreSnapshots?: ReadonlySet<string>;
}

export type PrunePhase =
  | 'load-index'
  | 'snapshots'
  | 'used-blobs'
  | 'plan'
  | 'delete-unreferenced'
  | 'repack'
  | 'write-index'
  | 'delete-index'
  | 'delete-packs';

export type PruneEvent =
  | { readonly type: 'phase'; readonly phase: PrunePhase; readonly total: number }
  | { readonly type: 'progress'; readonly phase: PrunePhase; readonly done: number; readonly total: number; readonly bytes?: number }
  /** The plan's statistics, before anything is changed (also in a dry run). */
  | { readonly type: 'plan'; readonly stats: PruneStats }
  | { readonly type: 'warning'; readonly message: string };

export interface PruneResult {
  readonly dryRun: boolean;
  /** Snapshots whose blobs were kept. */
  readonly snapshots: number;
  readonly stats: PruneStats;
  /** Pack ids by what the plan does with them (sorted). */
  readonly unreferenced: string[];
  readonly repacked: string[];
  readonly removed: string[];
  readonly forgottenMissing: string[];
  /** Blobs and plaintext bytes saved into new packs. */
  readonly repackedBlobs: number;
  readonly repackedBytes: number;
  readonly indexFilesWritten: number;
  readonly indexFilesRemoved: number;
}

/** Deletions running at the same time. */
const DELETES_AT_ONCE = 8;

function checkOptions(repo: Repository, o: PruneOptions): void {
  const max = o.maxUnused;
  if (max?.kind === 'percent' && !(max.percent >= 0 && max.percent < 100)) throw invalidArgument('--max-unused: a percentage must be at least 0 and below 100%');
  if (max?.kind === 'bytes' && !(max.bytes >= 0)) throw invalidArgument('--max-unused: the size must not be negative');
  if (o.maxRepackBytes !== undefined && !(o.maxRepackBytes >= 0)) throw invalidArgument('--max-repack-size must not be negative');
  if (o.repackUncompressed && repo.version < 2) throw invalidArgument('--repack-uncompressed: compression requires repository format version 2');
}

/** Removes files of a type: the first alone (a crash point follows it), the rest in parallel. */
async function removeAll(repo: Repository, type: 'data' | 'index', ids: readonly string[], phase: PrunePhase, onEvent: (e: PruneEvent) => void, afterFirst?: () => void): Promise<void> {
  onEvent({ type: 'phase', phase, total: ids.length });
  let done = 0;
  const one = async (id: string) => {
    await repo.backend.remove({ type, name: id });
    onEvent({ type: 'progress', phase, done: ++done, total: ids.length });
  };
  if (ids.length === 0) return;
  await one(ids[0]!);
  afterFirst?.();
  await forEachLimited(ids.slice(1), DELETES_AT_ONCE, one);
}

/**
 * Prunes the repository; the caller holds an exclusive lock.
 * Throws, before changing anything, when blobs in use are missing or packs are damaged.
 */
export async function prune(repo: Repository, options: PruneOptions = {}, onEvent: (e: PruneEvent) => void = () => undefined): Promise<PruneResult> {
  checkOptions(repo, options);
  // Garbage goes every 64 MiB of trees or blobs handled, between phases and after each index file
  // written: V8 would keep it until memory runs short, and the peak is what a prune costs the machine.
  const collect = garbageBudget(64 * 1024 * 1024);
  const phaseDone = () => collect(Infinity);
  // Loaded here, under the caller's lock, even if loaded before: the new index must describe
  // every pack that every index file there is describes (packs already known are skipped).
  onEvent({ type: 'phase', phase: 'load-index', total: 0 });
  const loadedIndex = new Set(await repo.loadIndex());
  phaseDone();

  // The snapshots, then every blob they reach.
  const snapshotIds: string[] = [];
  for await (const f of repo.list('snapshots')) if (!options.ignoreSnapshots?.has(f.name)) snapshotIds.push(f.name);
  onEvent({ type: 'phase', phase: 'snapshots', total: snapshotIds.length });
  const roots: string[] = [];
  await forEachLimited(snapshotIds, 8, async (id) => {
    try {
      roots.push((await loadSnapshot(repo, id)).tree);
    } catch (err) {
      throw new HoldfastError('ERR_CORRUPT', `failed loading snapshot ${id}: ${messageOf(err)}`, { cause: err });
    }
  });
  onEvent({ type: 'phase', phase: 'used-blobs', total: roots.length });
  const used = new BlobSet(repo.index.size);
  await findUsedBlobs(repo, roots, used, (done) => onEvent({ type: 'progress', phase: 'used-blobs', done, total: roots.length }), collect);
  phaseDone();

  // The plan.
  const packFiles = new Map<string, number>();
  for await (const f of repo.list('data')) packFiles.set(f.name, f.size);
  onEvent({ type: 'phase', phase: 'plan', total: packFiles.size });
  const plan = planPrune(repo.index, used, packFiles, {
    maxUnused: options.maxUnused ?? { kind: 'percent', percent: 5 },
    maxRepackBytes: options.maxRepackBytes ?? Infinity,
    repackCacheableOnly: options.repackCacheableOnly === true,
    repackSmall: options.repackSmall === true,
    repackUncompressed: options.repackUncompressed === true,
    packSize: options.packSize ?? DEFAULT_PACK_SIZE,
    repoVersion: repo.version,
  });
  onEvent({ type: 'plan', stats: plan.stats });
  for (const id of plan.forgetMissing) onEvent({ type: 'warning', message: `pack ${id} is missing but not needed: it is dropped from the index` });

  const sorted = (s: Iterable<string>) => [...s].sort();
  const result = {
    dryRun: options.dryRun === true,
    snapshots: roots.length,
    stats: plan.stats,
    unreferenced: sorted(plan.removeUnreferenced.keys()),
    repacked: sorted(plan.repack),
    removed: sorted(plan.remove),
    forgottenMissing: sorted(plan.forgetMissing),
    repackedBlobs: 0,
    repackedBytes: 0,
    indexFilesWritten: 0,
    indexFilesRemoved: 0,
  };
  if (options.dryRun) return result;

  // 1. Packs no index describes: nothing can refer to them.
  await removeAll(repo, 'data', result.unreferenced, 'delete-unreferenced', onEvent);
  crashPoint('after-unreferenced-deleted');

  // 2. Needed blobs out of the packs to repack, into new packs that get their own index files.
  if (plan.repack.size > 0) {
    markKeptBlobs(repo.index, used, plan);
    let repacked = 0;
    onEvent({ type: 'phase', phase: 'repack', total: plan.repack.size });
    // What restic compresses when it repacks: uncompressed trees, and data on request.
    const compress = (b: PackedBlob) => repo.version >= 2 && b.uncompressedLength === undefined && (b.type === 'tree' || options.repackUncompressed === true);
    const done = await repack(repo, repo, result.repacked, used, {
      storeDuplicates: true,
      keepSealed: (b) => !compress(b),
      packSizes: packFiles,
      onPack: (n, bytes) => {
        onEvent({ type: 'progress', phase: 'repack', done: n, total: plan.repack.size, bytes });
        collect(bytes - repacked);
        repacked = bytes;
        if (n === 1) crashPoint('during-repack');
      },
    });
    result.repackedBlobs = done.blobs;
    result.repackedBytes = done.bytes;
    for (const id of done.indexFiles) loadedIndex.add(id);
    crashPoint('after-repack');
  }

  // What is used is known and kept: the memory is better spent on writing the index.
  used.clear();
  phaseDone();

  // 3. A new index without the packs that go, superseding every index file there is, then 4. the old files.
  const drop = new Set([...plan.repack, ...plan.remove, ...plan.forgetMissing]);
  if (drop.size > 0) {
    const oldIndex: string[] = [];
    for await (const f of repo.list('index')) oldIndex.push(f.name);
    oldIndex.sort();
    const unknown = oldIndex.filter((id) => !loadedIndex.has(id));
    if (unknown.length > 0) {
      // Someone wrote index files without the lock: the packs they describe are unknown here.
      throw new HoldfastError('ERR_LOCKED', `index files appeared during the prune (${unknown.map(shortId).join(', ')}): another process writes without a lock; nothing was deleted, run prune again`);
    }
    const total = repo.index.packCount - drop.size;
    onEvent({ type: 'phase', phase: 'write-index', total });
    const { written } = await writeIndexFiles(repo, {
      packs: repo.index.packsOneByOne((id) => drop.has(id)),
      supersedes: oldIndex,
      onPack: (done) => onEvent({ type: 'progress', phase: 'write-index', done, total }),
      onFile: phaseDone,
    });
    result.indexFilesWritten = written.length;
    crashPoint('after-new-index');
    await removeAll(repo, 'index', oldIndex, 'delete-index', onEvent, () => crashPoint('during-index-delete'));
    result.indexFilesRemoved = oldIndex.length;
    crashPoint('after-index-delete');
  }

  // 5. Only now, with no index naming them, the packs themselves.
  await removeAll(repo, 'data', [...result.removed, ...result.repacked], 'delete-packs', onEvent, () => crashPoint('during-pack-delete'));
  return result;
}
