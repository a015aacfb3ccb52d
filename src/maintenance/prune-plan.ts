// What a prune will do, decided as restic 0.14 decides it (delete, repack within --max-unused and
// --max-repack-size, keep), with restic's statistics. Pure: it reads the index and the used set.

import { HoldfastError, invalidArgument, messageOf } from '../errors.js';
import { CRYPTO_OVERHEAD } from '../format/crypto.js';
import { type BlobType, headerEntrySize, TRAILER_SIZE } from '../format/pack.js';
import { parseSize } from '../size.js';
import type { LocationView, MasterIndex } from '../repository/master-index.js';
import type { BlobSet } from './blob-set.js';
import { BlobState } from './repack.js';

/** How much unused space may stay in the repository after the prune (restic's --max-unused). */
export type MaxUnused =
  | { readonly kind: 'unlimited' }
  /** Percent of the repository's size after the prune, 0 <= percent < 100. */
  | { readonly kind: 'percent'; readonly percent: number }
  | { readonly kind: 'bytes'; readonly bytes: number };

/**
 * Reads restic's --max-unused: `unlimited`, a percentage below 100, or a size with k/m/g/t
 * suffixes. `name` is how the caller calls the setting, for restic's error messages.
 */
export function parseMaxUnused(text: string, name: string): MaxUnused {
  const t = text.trim();
  if (t === 'unlimited') return { kind: 'unlimited' };
  if (!t.endsWith('%')) {
    try {
      return { kind: 'bytes', bytes: Number(parseSize(t)) };
    } catch (err) {
      throw invalidArgument(`invalid number of bytes ${JSON.stringify(text)} for ${name}: ${messageOf(err)}`);
    }
  }
  const p = Number(t.slice(0, -1));
  if (t.length === 1 || !Number.isFinite(p)) throw invalidArgument(`invalid percentage ${JSON.stringify(text)} passed for ${name}`);
  if (p < 0) throw invalidArgument(`percentage for ${name} must be positive`);
  if (p >= 100) throw invalidArgument(`percentage for ${name} must be below 100%`);
  return { kind: 'percent', percent: p };
}

export interface PlanOptions {
  readonly maxUnused: MaxUnused;
  /** Stop choosing packs to repack once this many bytes are chosen. */
  readonly maxRepackBytes: number;
  /** Repack only tree packs (those a local cache would hold). */
  readonly repackCacheableOnly: boolean;
  /** Also repack packs below 80% of the pack size (restic repacks only those below 4%). */
  readonly repackSmall: boolean;
  /** Repack packs with uncompressed data blobs (tree packs with uncompressed blobs always are). */
  readonly repackUncompressed: boolean;
  /** Target pack size in bytes. */
  readonly packSize: number;
  readonly repoVersion: 1 | 2;
}

/** restic's prune statistics: blob counts and sizes, pack counts. */
export interface PruneStats {
  readonly blobs: { used: number; duplicate: number; unused: number; remove: number; repack: number; repackrm: number };
  readonly size: { used: number; duplicate: number; unused: number; remove: number; repack: number; repackrm: number; unref: number };
  readonly packs: { used: number; unused: number; partlyUsed: number; unref: number; keep: number; repack: number; remove: number };
}

export interface PrunePlan {
  /** Packs no index describes, with their sizes: deleted first. */
  readonly removeUnreferenced: ReadonlyMap<string, number>;
  /** Packs whose needed blobs are copied to new packs before the pack is deleted. */
  readonly repack: ReadonlySet<string>;
  /** Packs without a needed blob: deleted. */
  readonly remove: ReadonlySet<string>;
  /** Packs the index names but the repository lacks, none of whose blobs are needed: dropped from the index. */
  readonly forgetMissing: ReadonlySet<string>;
  readonly stats: PruneStats;
}

interface PackInfo {
  usedBlobs: number;
  unusedBlobs: number;
  usedSize: number;
  unusedSize: number;
  type: BlobType | 'mixed' | undefined;
  /** Has an uncompressed blob; after the decision: must be repacked to compress it. */
  uncompressed: boolean;
}

function emptyStats(): PruneStats {
  return {
    blobs: { used: 0, duplicate: 0, unused: 0, remove: 0, repack: 0, repackrm: 0 },
    size: { used: 0, duplicate: 0, unused: 0, remove: 0, repack: 0, repackrm: 0, unref: 0 },
    packs: { used: 0, unused: 0, partlyUsed: 0, unref: 0, keep: 0, repack: 0, remove: 0 },
  };
}

function maxUnusedBytes(max: MaxUnused, used: number): number {
  if (max.kind === 'unlimited') return Infinity;
  if (max.kind === 'bytes') return max.bytes;
  return Math.floor((max.percent / (100 - max.percent)) * used);
}

/**
 * Classifies every blob of the index as used, duplicate or unused, then sums them up per pack
 * (by pack number). `used` holds the blobs the snapshots reach with state `unseen`; afterwards
 * those found in the index are `repack` (a candidate to keep) and any still `unseen` are missing:
 * an error, as a prune must not start on a repository that lost data. The passes go over the
 * index's arrays without an object per blob.
 */
function packInfos(index: MasterIndex, used: BlobSet, stats: PruneStats): (PackInfo | undefined)[] {
  // Pass 1: the first copy of a used blob is used, further copies duplicates.
  const duplicates = new Map<string, number>();
  const keyOf = (b: Readonly<LocationView>) => b.type[0] + b.idBytes.toString('hex', b.idAt, b.idAt + 32);
  index.forEachLocation((b) => {
    const state = used.flagAt(b.type, b.idBytes, b.idAt);
    if (state === BlobState.unseen) {
      used.setFlagAt(b.type, b.idBytes, b.idAt, BlobState.repack);
      stats.size.used += b.length;
      stats.blobs.used++;
    } else if (state > BlobState.unseen) {
      const k = keyOf(b);
      duplicates.set(k, Math.min(255, (duplicates.get(k) ?? 1) + 1));
      stats.size.duplicate += b.length;
      stats.blobs.duplicate++;
    } else {
      stats.size.unused += b.length;
      stats.blobs.unused++;
    }
  });
  const missing: string[] = [];
  for (const b of used.entries(BlobState.unseen)) missing.push(`${b.type} blob ${b.id}`);
  if (missing.length > 0) {
    throw new HoldfastError(
      'ERR_CORRUPT',
      `${missing.length} blob(s) in use are not in the index: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}. ` +
        'Data seems to be missing; prune will not start, to prevent (additional) data loss. Run "holdfast repair index"; if blobs are still missing, "holdfast repair snapshots".',
    );
  }

  // Pass 2: per pack sizes (the header counts as used) and types; duplicates wait for pass 3.
  const infos: (PackInfo | undefined)[] = [];
  index.forEachLocation((b) => {
    let info = infos[b.pack];
    if (!info) {
      info = { usedBlobs: 0, unusedBlobs: 0, usedSize: CRYPTO_OVERHEAD + TRAILER_SIZE, unusedSize: 0, type: undefined, uncompressed: false };
      infos[b.pack] = info;
    }
    info.usedSize += headerEntrySize(b);
    if (info.type === undefined) info.type = b.type;
    else if (info.type !== b.type) info.type = 'mixed';
    if (b.uncompressedLength === undefined) info.uncompressed = true;
    const state = used.flagAt(b.type, b.idBytes, b.idAt);
    if (state >= 0 && duplicates.size > 0 && duplicates.has(keyOf(b))) return;
    if (state >= 0) {
      info.usedSize += b.length;
      info.usedBlobs++;
    } else {
      info.unusedSize += b.length;
      info.unusedBlobs++;
    }
  });

  // Pass 3: one copy of each duplicate is used, preferably in a pack that has used blobs anyway.
  if (duplicates.size > 0) {
    index.forEachLocation((b) => {
      if (used.flagAt(b.type, b.idBytes, b.idAt) < 0) return;
      const k = keyOf(b);
      const count = duplicates.get(k);
      if (count === undefined) return;
      const info = infos[b.pack]!;
      if (count !== 0 && (info.usedBlobs > 0 || count === 1)) {
        info.usedSize += b.length;
        info.usedBlobs++;
        duplicates.set(k, 0);
      } else {
        info.unusedSize += b.length;
        info.unusedBlobs++;
        if (count !== 0) duplicates.set(k, count - 1);
      }
    });
  }
  return infos;
}

/**
 * Plans a prune. `packFiles` is the listing of data/ (id → size). Throws when a pack that holds
 * needed blobs is missing or has another size than its index entries add up to.
 */
export function planPrune(index: MasterIndex, used: BlobSet, packFiles: ReadonlyMap<string, number>, options: PlanOptions): PrunePlan {
  const stats = emptyStats();
  const infos = packInfos(index, used, stats);
  const removeUnreferenced = new Map<string, number>();
  const remove = new Set<string>();
  const repack = new Set<string>();
  type Candidate = PackInfo & { id: string };
  const candidates: Candidate[] = [];
  const smallCandidates: Candidate[] = [];
  const targetSize = options.repackSmall ? Math.floor(options.packSize / 5) * 4 : Math.floor(options.packSize / 25);

  for (const [id, size] of packFiles) {
    const n = index.packNumberOf(id);
    const p = n === undefined ? undefined : infos[n];
    if (n === undefined || !p) {
      removeUnreferenced.set(id, size);
      stats.size.unref += size;
      continue;
    }
    infos[n] = undefined;
    if (p.usedSize + p.unusedSize !== size && p.usedBlobs !== 0) {
      throw new HoldfastError(
        'ERR_CORRUPT',
        `pack ${id}: calculated size ${p.usedSize + p.unusedSize} does not match real size ${size}; run "holdfast repair index"`,
      );
    }
    if (p.usedBlobs === 0) stats.packs.unused++;
    else if (p.unusedBlobs === 0) stats.packs.used++;
    else stats.packs.partlyUsed++;

    // Version 2 compresses: tree packs with uncompressed blobs are always repacked, data packs on request.
    p.uncompressed = options.repoVersion >= 2 && (p.type === 'tree' || options.repackUncompressed) && p.uncompressed;
    if (p.usedBlobs === 0) {
      remove.add(id);
      stats.blobs.remove += p.unusedBlobs;
      stats.size.remove += p.unusedSize;
    } else if (options.repackCacheableOnly && p.type === 'data') {
      stats.packs.keep++;
    } else if (p.unusedBlobs === 0 && p.type !== 'mixed' && !p.uncompressed) {
      if (size >= targetSize) stats.packs.keep++;
      else smallCandidates.push({ ...p, id });
    } else {
      candidates.push({ ...p, id });
    }
  }

  // What is left was indexed but is not in data/: harmless when nothing in it is needed.
  const forgetMissing = new Set<string>();
  const neededMissing: string[] = [];
  for (let n = 0; n < infos.length; n++) {
    const p = infos[n];
    if (!p) continue;
    const id = index.packIdAt(n);
    if (p.usedBlobs === 0) {
      forgetMissing.add(id);
      stats.blobs.remove += p.unusedBlobs;
      stats.size.remove += p.unusedSize;
    } else {
      neededMissing.push(id);
    }
  }
  if (neededMissing.length > 0) {
    throw new HoldfastError('ERR_CORRUPT', `the index references ${neededMissing.length} needed pack file(s) which are missing from the repository: ${neededMissing.join(', ')}`);
  }

  // Too few small packs are not worth the trouble; this also stops a lone small pack from being repacked forever.
  if (smallCandidates.length < 10) stats.packs.keep += smallCandidates.length;
  else candidates.push(...smallCandidates);

  // Tree and mixed packs first, then small ones, then by the share of unused space, highest first.
  const total = (p: PackInfo) => p.usedSize + p.unusedSize;
  candidates.sort((a, b) => {
    const aTree = a.type !== 'data';
    const bTree = b.type !== 'data';
    if (aTree !== bTree) return aTree ? -1 : 1;
    const aSmall = total(a) < targetSize;
    const bSmall = total(b) < targetSize;
    if (aSmall !== bSmall) return aSmall ? -1 : 1;
    return b.unusedSize * a.usedSize - a.unusedSize * b.usedSize;
  });

  const maxUnusedAfter = maxUnusedBytes(options.maxUnused, stats.size.used);
  for (const p of candidates) {
    const unusedAfter = stats.size.unused - stats.size.remove - stats.size.repackrm;
    const reachedUnusedSizeAfter = unusedAfter >= 0 && unusedAfter < maxUnusedAfter;
    const reachedRepackSize = stats.size.repack + total(p) >= options.maxRepackBytes;
    if (reachedRepackSize) stats.packs.keep++;
    else if (p.type !== 'data' || p.uncompressed) take(p);
    else if (reachedUnusedSizeAfter && total(p) >= targetSize) stats.packs.keep++;
    else take(p);
  }
  function take(p: Candidate): void {
    repack.add(p.id);
    stats.blobs.repack += p.unusedBlobs + p.usedBlobs;
    stats.size.repack += total(p);
    stats.blobs.repackrm += p.unusedBlobs;
    stats.size.repackrm += p.unusedSize;
  }

  stats.packs.unref = removeUnreferenced.size;
  stats.packs.repack = repack.size;
  stats.packs.remove = remove.size;
  return { removeUnreferenced, repack, remove, forgetMissing, stats };
}

/**
 * Marks the used blobs that have a copy in a pack the prune keeps (`kept`): what is still in state
 * `repack` afterwards must be copied out of the packs being repacked.
 */
export function markKeptBlobs(index: MasterIndex, used: BlobSet, plan: PrunePlan): void {
  const going = new Set<number>();
  for (const id of [...plan.repack, ...plan.remove, ...plan.forgetMissing]) going.add(index.packNumberOf(id)!);
  index.forEachLocation((b) => {
    if (going.has(b.pack)) return;
    if (used.flagAt(b.type, b.idBytes, b.idAt) === BlobState.repack) used.setFlagAt(b.type, b.idBytes, b.idAt, BlobState.kept);
  });
}
