// The block directory of one image generation (the seeds' sector directory table): volume and block
// size, every block's blob id or "unused", the generation it last changed in, and the history.

import { randomBytes } from 'node:crypto';
import { invalidArgument } from '../errors.js';
import { zeroBlockId } from './zero-blocks.js';

export const ID_BYTES = 32;
export const LINEAGE_BYTES = 16;

/** How a generation found its changed blocks. */
export type GenerationMode = 'full' | 'checksum' | 'dirty-bitmap' | 'changed-blocks';

export interface GenerationInfo {
  readonly generation: number;
  /** When the backup of this generation started, in nanoseconds since the Unix epoch. */
  readonly timeNs: bigint;
  /** Blocks whose content changed in this generation; every block for the first one. */
  readonly changedBlocks: number;
  readonly mode: GenerationMode;
  /**
   * The snapshot holding this generation. A directory cannot name its own snapshot (the snapshot's
   * id hashes the tree that holds the directory), so the latest entry has none.
   */
  readonly snapshotId?: string | undefined;
}

export interface BlockDirectoryInit {
  readonly name: string;
  /** Where the image was read from (a path or an NBD URI), for people reading the history. */
  readonly source: string;
  readonly volumeSize: number;
  readonly blockSize: number;
  /** Identifies a chain of generations: a full backup starts a new one. */
  readonly lineage: Buffer;
  /** Oldest first; the last entry is this directory's generation. */
  readonly history: readonly GenerationInfo[];
  readonly ids?: Uint8Array;
  readonly generations?: Uint32Array;
}

const MIN_BLOCK_SIZE = 4096;
const MAX_BLOCK_SIZE = 64 << 20;

export function checkBlockSize(blockSize: number): void {
  if (!Number.isSafeInteger(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE || (blockSize & (blockSize - 1)) !== 0) {
    throw invalidArgument(`block size ${blockSize} must be a power of two from 4 KiB to 64 MiB`);
  }
}

/**
 * One generation's map over typed arrays: 36 bytes a block however large the disk (a 1 TiB disk in
 * 1 MiB blocks is 36 MiB), never an object per block. Ids of all zero bytes mean "unused".
 */
export class BlockDirectory {
  readonly name: string;
  readonly source: string;
  readonly volumeSize: number;
  readonly blockSize: number;
  readonly blockCount: number;
  readonly lineage: Buffer;
  readonly history: GenerationInfo[];
  /** blockCount × 32 bytes: each block's blob id (SHA-256 of its content), zeros when unused. */
  readonly ids: Uint8Array;
  /** The generation in which each block last changed. */
  readonly generations: Uint32Array;

  constructor(init: BlockDirectoryInit) {
    checkBlockSize(init.blockSize);
    if (!Number.isSafeInteger(init.volumeSize) || init.volumeSize < 0) throw invalidArgument(`invalid volume size ${init.volumeSize}`);
    if (init.lineage.length !== LINEAGE_BYTES) throw invalidArgument('a lineage id has 16 bytes');
    if (init.history.length === 0) throw invalidArgument('a block directory needs at least one generation');
    this.name = init.name;
    this.source = init.source;
    this.volumeSize = init.volumeSize;
    this.blockSize = init.blockSize;
    this.blockCount = Math.ceil(init.volumeSize / init.blockSize);
    this.lineage = init.lineage;
    this.history = [...init.history];
    this.ids = init.ids ?? new Uint8Array(this.blockCount * ID_BYTES);
    this.generations = init.generations ?? new Uint32Array(this.blockCount);
    if (this.ids.length !== this.blockCount * ID_BYTES || this.generations.length !== this.blockCount) {
      throw invalidArgument('block directory arrays do not match the block count');
    }
  }

  /** A first generation: every block unused until the backup fills it in. */
  static first(init: { name: string; source: string; volumeSize: number; blockSize: number; timeNs: bigint; mode: GenerationMode }): BlockDirectory {
    return new BlockDirectory({ ...init, lineage: randomBytes(LINEAGE_BYTES), history: [{ generation: 1, timeNs: init.timeNs, changedBlocks: 0, mode: init.mode }] });
  }

  /**
   * The next generation of `parent`: the same blocks (copied), the parent's snapshot id filled into
   * its history entry, and a new entry. Blocks beyond a parent of another size start unused.
   */
  static next(
    parent: BlockDirectory,
    init: { parentSnapshotId: string; name: string; source: string; volumeSize: number; timeNs: bigint; mode: GenerationMode },
  ): BlockDirectory {
    const history = parent.history.map((h, i) => (i === parent.history.length - 1 ? { ...h, snapshotId: init.parentSnapshotId } : h));
    history.push({ generation: parent.generation + 1, timeNs: init.timeNs, changedBlocks: 0, mode: init.mode });
    const dir = new BlockDirectory({ name: init.name, source: init.source, volumeSize: init.volumeSize, blockSize: parent.blockSize, lineage: parent.lineage, history });
    const kept = Math.min(dir.blockCount, parent.blockCount);
    dir.ids.set(parent.ids.subarray(0, kept * ID_BYTES));
    dir.generations.set(parent.generations.subarray(0, kept));
    // A last block that was short and is now longer (or the reverse) has other content: unknown again.
    if (kept > 0 && parent.blockLength(kept - 1) !== dir.blockLength(kept - 1)) dir.forget(kept - 1);
    return dir;
  }

  get generation(): number {
    return this.history[this.history.length - 1]!.generation;
  }

  get current(): GenerationInfo {
    return this.history[this.history.length - 1]!;
  }

  /** Records how many blocks this generation changed, and how it found them, once the backup knows. */
  finishGeneration(changedBlocks: number, mode: GenerationMode): void {
    this.history[this.history.length - 1] = { ...this.current, changedBlocks, mode };
  }

  /** Bytes of block i: blockSize, except a shorter last block. */
  blockLength(i: number): number {
    return Math.min(this.blockSize, this.volumeSize - i * this.blockSize);
  }

  isUnused(i: number): boolean {
    const at = i * ID_BYTES;
    for (let k = 0; k < ID_BYTES; k++) if (this.ids[at + k] !== 0) return false;
    return true;
  }

  /** The block's content is all zeros: unused, or used but zero (both restore as holes). */
  isZero(i: number): boolean {
    return this.isUnused(i) || this.sameId(i, zeroBlockId(this.blockLength(i)));
  }

  /** The block's id as bytes (a view; zeros when unused). */
  idBytes(i: number): Uint8Array {
    return this.ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES);
  }

  /** The blob id of the block's content as restic lists it: the zero blob for an unused block. */
  contentId(i: number): string {
    const bytes = this.isUnused(i) ? zeroBlockId(this.blockLength(i)) : this.idBytes(i);
    return Buffer.from(bytes.buffer, bytes.byteOffset, ID_BYTES).toString('hex');
  }

  sameId(i: number, id: Uint8Array): boolean {
    const at = i * ID_BYTES;
    for (let k = 0; k < ID_BYTES; k++) if (this.ids[at + k] !== id[k]) return false;
    return true;
  }

  /** Sets block i; returns true when that changed it (the block then belongs to this generation). */
  set(i: number, id: Uint8Array): boolean {
    if (this.sameId(i, id) && this.generations[i] !== 0) return false;
    this.ids.set(id.subarray(0, ID_BYTES), i * ID_BYTES);
    this.generations[i] = this.generation;
    return true;
  }

  setUnused(i: number): boolean {
    if (this.isUnused(i) && this.generations[i] !== 0) return false;
    this.ids.fill(0, i * ID_BYTES, (i + 1) * ID_BYTES);
    this.generations[i] = this.generation;
    return true;
  }

  /** True for a block this generation has not filled in yet (new, or beyond the parent's end). */
  isUnknown(i: number): boolean {
    return this.generations[i] === 0;
  }

  private forget(i: number): void {
    this.ids.fill(0, i * ID_BYTES, (i + 1) * ID_BYTES);
    this.generations[i] = 0;
  }
}
