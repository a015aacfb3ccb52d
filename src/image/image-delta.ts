// Deltas between generations: export the blocks an image changed after generation N (with the base's
// checksums), and apply such a delta to a copy of generation N, refusing any other target.

import { createHash } from 'node:crypto';
import { corrupt, HoldfastError, invalidArgument } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { loadSnapshot } from '../repository/snapshots.js';
import { BlockBits } from './block-bits.js';
import type { BlockDirectory } from './block-directory.js';
import { fetchBlocks } from './block-fetcher.js';
import { type DeltaHeader, DeltaReader, DeltaWriter } from './delta-format.js';
import { findImageSnapshot, type ImageSnapshot, loadImageSnapshot } from './image-snapshots.js';
import { ImageTarget } from './image-target.js';
import { zeroBlockId, zeros } from './zero-blocks.js';

/** Unchanged blocks recorded for apply-delta to check besides the changed ones. */
const SAMPLES = 16;

export interface ExportDeltaOptions {
  /** SNAPSHOT[:NAME] of the newer image. */
  readonly snapshot: string;
  readonly sinceGeneration: number;
  readonly output: string;
  readonly host?: string;
  readonly onEvent?: (e: { readonly type: 'block'; readonly bytes: number }) => void;
}

export interface ExportDeltaResult {
  readonly name: string;
  readonly baseGeneration: number;
  readonly generation: number;
  readonly baseSnapshot: string;
  readonly snapshot: string;
  readonly entries: number;
  readonly dataEntries: number;
  readonly fileSize: number;
}

/** The SHA-256 a block has in a directory's image: the zero block's for unused blocks. */
function blockSha(dir: BlockDirectory, i: number): Buffer {
  return Buffer.from(dir.contentId(i), 'hex');
}

async function loadBase(repo: Repository, image: ImageSnapshot, generation: number): Promise<ImageSnapshot> {
  const dir = image.directory;
  const entry = dir.history.find((h) => h.generation === generation);
  if (entry === undefined) throw invalidArgument(`image "${dir.name}" in snapshot ${image.id.slice(0, 8)} has no generation ${generation} in its history`);
  if (entry.snapshotId === undefined) throw invalidArgument(`generation ${generation} is the snapshot's own generation: there is nothing after it`);
  let base: ImageSnapshot;
  try {
    base = await loadImageSnapshot(repo, { id: entry.snapshotId, snapshot: await loadSnapshot(repo, entry.snapshotId) }, dir.name);
  } catch (err) {
    if (err instanceof HoldfastError && err.code === 'ERR_NOT_FOUND') {
      throw new HoldfastError('ERR_NOT_FOUND', `snapshot ${entry.snapshotId.slice(0, 8)} of generation ${generation} is no longer in the repository: a delta needs its checksums to check the target`);
    }
    throw err;
  }
  if (!base.directory.lineage.equals(dir.lineage) || base.directory.generation !== generation) {
    throw corrupt(`snapshot ${entry.snapshotId.slice(0, 8)} does not hold generation ${generation} of this image`);
  }
  return base;
}

/** Spread-out blocks unchanged since the base whose content is not zero: the cheapest proof of the base. */
function samplesOf(base: BlockDirectory, changed: BlockBits): { block: number; sha256: Buffer }[] {
  const candidates: number[] = [];
  const step = Math.max(1, Math.floor(base.blockCount / (SAMPLES * 8)));
  for (let i = 0; i < base.blockCount; i += step) if (!changed.has(i) && !base.isZero(i)) candidates.push(i);
  const pick = Math.min(SAMPLES, candidates.length);
  return Array.from({ length: pick }, (_, k) => candidates[Math.floor(((k + 0.5) * candidates.length) / pick)]!).map((block) => ({ block, sha256: blockSha(base, block) }));
}

export async function exportDelta(repo: Repository, options: ExportDeltaOptions): Promise<ExportDeltaResult> {
  await repo.loadIndex();
  const image = await findImageSnapshot(repo, options.snapshot, options.host);
  const dir = image.directory;
  const n = options.sinceGeneration;
  if (!Number.isSafeInteger(n) || n < 1 || n >= dir.generation) {
    throw invalidArgument(`--since-generation must be from 1 to ${dir.generation - 1} for this snapshot (generation ${dir.generation})`);
  }
  const base = await loadBase(repo, image, n);
  if (base.directory.blockSize !== dir.blockSize) throw corrupt('the base generation has another block size');
  const changed = new BlockBits(dir.blockCount);
  for (let i = 0; i < dir.blockCount; i++) {
    const beyondBase = i >= base.directory.blockCount || base.directory.blockLength(i) !== dir.blockLength(i);
    if (dir.generations[i]! > n) changed.add(i);
    else if (beyondBase || !dir.sameId(i, base.directory.idBytes(i))) {
      throw corrupt(`block ${i} last changed in generation ${dir.generations[i]} but differs from generation ${n}: the block directories disagree`);
    }
  }
  const baseShaOf = (i: number): Buffer | undefined =>
    i < base.directory.blockCount && base.directory.blockLength(i) === dir.blockLength(i) ? blockSha(base.directory, i) : undefined;
  const header: DeltaHeader = {
    name: dir.name,
    blockSize: dir.blockSize,
    baseVolumeSize: base.directory.volumeSize,
    volumeSize: dir.volumeSize,
    baseGeneration: n,
    generation: dir.generation,
    lineage: dir.lineage,
    baseSnapshot: base.id,
    snapshot: image.id,
    entryCount: changed.size(),
    samples: samplesOf(base.directory, changed),
  };
  const writer = await DeltaWriter.create(options.output, header);
  try {
    const data = new BlockBits(dir.blockCount);
    let dataEntries = 0;
    for (let i = 0; i < dir.blockCount; i++) {
      if (!changed.has(i)) continue;
      const entry = { block: i, length: dir.blockLength(i), baseSha256: baseShaOf(i), sha256: blockSha(dir, i) };
      if (dir.isZero(i)) await writer.entry({ ...entry, kind: 'zero' });
      else {
        data.add(i);
        dataEntries++;
      }
    }
    const failures: string[] = [];
    await fetchBlocks(repo, dir, data, {
      onBlob: async (blocks, plain) => {
        for (const i of blocks) {
          await writer.entry({ block: i, length: plain.length, kind: 'data', baseSha256: baseShaOf(i), sha256: blockSha(dir, i) }, plain);
          options.onEvent?.({ type: 'block', bytes: plain.length });
        }
      },
      onFailure: (blocks, id, message) => failures.push(`block ${blocks.join(', ')} (blob ${id.slice(0, 12)}): ${message}`),
    });
    if (failures.length > 0) throw corrupt(`cannot read ${failures.length} changed block(s): ${failures.slice(0, 10).join('; ')}`);
    const fileSize = await writer.finish();
    return { name: dir.name, baseGeneration: n, generation: dir.generation, baseSnapshot: base.id, snapshot: image.id, entries: header.entryCount, dataEntries, fileSize };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

export interface ApplyDeltaResult {
  readonly name: string;
  readonly baseGeneration: number;
  readonly generation: number;
  /** Blocks written now. */
  readonly written: number;
  /** Blocks that already had their new content (a resumed or repeated apply). */
  readonly alreadyNew: number;
  readonly bytesWritten: number;
}

const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

function baseLength(h: DeltaHeader, block: number): number {
  return Math.min(h.blockSize, h.baseVolumeSize - block * h.blockSize);
}

/**
 * Checks that the target holds generation N (samples and every block to be replaced match the
 * base; a block that already has its new content is accepted, so an interrupted apply can be
 * resumed), then writes the new blocks, each checked against its SHA-256 first.
 */
export async function applyDelta(path: string, targetPath: string, onEvent?: (e: { readonly type: 'block'; readonly bytes: number }) => void): Promise<ApplyDeltaResult> {
  const delta = await DeltaReader.open(path);
  try {
    const h = delta.header;
    const target = await ImageTarget.openExisting(targetPath, h.baseVolumeSize);
    try {
      if (target.kind === 'device' && target.size < h.volumeSize) {
        throw new HoldfastError('ERR_NO_SPACE', `target ${targetPath} has ${target.size} bytes; generation ${h.generation} needs ${h.volumeSize}: nothing was written`);
      }
      const notBase = (what: string): HoldfastError =>
        new HoldfastError(
          'ERR_INVALID_ARGUMENT',
          `${targetPath} is not generation ${h.baseGeneration} of image "${h.name}" (snapshot ${h.baseSnapshot.slice(0, 8)}): ${what}; nothing was written`,
        );
      for (const s of h.samples) {
        if (!sha256(await target.read(s.block * h.blockSize, baseLength(h, s.block))).equals(s.sha256)) throw notBase(`unchanged block ${s.block} differs`);
      }
      const pending = new BlockBits(Math.ceil(h.volumeSize / h.blockSize));
      let alreadyNew = 0;
      for await (const { entry } of delta.entries(false)) {
        // A block beyond the base's end has no base content to check; writing it is always safe.
        if (entry.baseSha256 === undefined) {
          pending.add(entry.block);
          continue;
        }
        const length = baseLength(h, entry.block);
        const current = sha256(await target.read(entry.block * h.blockSize, length));
        if (current.equals(entry.baseSha256)) pending.add(entry.block);
        else if (length === entry.length && current.equals(entry.sha256)) alreadyNew++;
        else throw notBase(`block ${entry.block} (byte ${entry.block * h.blockSize}) has neither its generation ${h.baseGeneration} nor its generation ${h.generation} content`);
      }
      if (h.volumeSize > target.size) await target.resize(h.volumeSize);
      let written = 0;
      let bytesWritten = 0;
      for await (const { entry, data } of delta.entries(true)) {
        if (!pending.has(entry.block)) continue;
        const content = entry.kind === 'data' ? data! : zeros(entry.length);
        const sum = entry.kind === 'zero' ? zeroBlockId(entry.length) : sha256(content);
        if (!sum.equals(entry.sha256)) throw corrupt(`${path}: block ${entry.block} does not match its SHA-256`);
        await target.write(entry.block * h.blockSize, content);
        written++;
        bytesWritten += content.length;
        onEvent?.({ type: 'block', bytes: content.length });
      }
      if (h.volumeSize < h.baseVolumeSize && target.size === h.baseVolumeSize) await target.resize(h.volumeSize);
      return { name: h.name, baseGeneration: h.baseGeneration, generation: h.generation, written, alreadyNew, bytesWritten };
    } finally {
      await target.close();
    }
  } finally {
    await delta.close();
  }
}
