// The shapes of allocation detection: the reader it parses through, the byte extents it returns
// and the layout (partition tables, volumes, gaps) it reports next to them.

/** Random access to a volume image: a file, a block device, a snapshot or an NBD export. */
export interface BlockSource {
  readonly size: number;
  /** Exactly `length` bytes at `offset`; the range always lies within [0, size). */
  read(offset: number, length: number): Promise<Buffer>;
}

/** A byte range. Lists of extents are sorted, non-overlapping and merged. */
export interface Extent {
  offset: number;
  length: number;
}

export type FsType = 'ext2' | 'ext3' | 'ext4' | 'fat12' | 'fat16' | 'fat32' | 'unknown';

export type TableKind = 'mbr' | 'ebr' | 'protective-mbr' | 'gpt' | 'gpt-backup';

/**
 * One piece of the image. The parts tile [0, size) in order without overlapping: tables and gaps
 * are always read in full; a volume is read where its file system uses it.
 */
export type LayoutPart =
  | { kind: 'table'; table: TableKind; offset: number; length: number }
  | { kind: 'gap'; offset: number; length: number }
  | VolumePart;

export interface VolumePart {
  kind: 'volume';
  /** "disk" for a file system on the whole image, else "partition N" (N as Linux numbers it). */
  name: string;
  offset: number;
  length: number;
  fs: FsType;
  /** Bytes the file system says it spans; the rest of the volume up to `length` is read in full. */
  fsLength?: number;
  /** Bytes of this volume that are in the used set (before rounding to the granularity). */
  usedBytes: number;
  /** MBR type byte ("0x83") or GPT type GUID; absent for a whole-disk volume. */
  partitionType?: string;
  /** GPT partition name, when it has one. */
  label?: string;
}

export interface AllocationMap {
  size: number;
  /** Everything that must be read; the rest is unused and is restored as zeros. */
  used: Extent[];
  /** Sum of the lengths of `used`. */
  usedBytes: number;
  /** Extents are rounded out to multiples of this many bytes (see DetectOptions). */
  granularity: number;
  layout: LayoutPart[];
  /** Why parts are read in full or trusted less, e.g. "ext4 on partition 1: bad superblock checksum; reading it in full". */
  warnings: string[];
  /** Bytes of metadata read to build the map (tables, superblocks, descriptors, bitmaps, FATs). */
  metadataBytesRead: number;
}

export interface DetectOptions {
  /**
   * Bytes; a power of two ≥ 512. Each used extent is widened to whole multiples of it, which
   * bounds the extent count by size / (2 × granularity). 512 (the default) keeps the map exact.
   */
  granularity?: number;
}
