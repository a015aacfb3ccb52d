// ext2/3/4 block groups: where the descriptor table lives (plain, or meta_bg), the checked group
// descriptors, and the blocks every group's metadata occupies (superblock backups, GDT, bitmaps).

import { HoldfastError } from '../../errors.js';
import { crc16Update, crc32cUpdate } from './checksums.js';
import type { ExtSuperblock } from './ext-superblock.js';
import type { MetadataReader } from './metadata-reader.js';

export const bgBlockUninit = 0x2;

export interface GroupDesc {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  flags: number;
  /** Checksum of the block bitmap; only its low 16 bits when the descriptor is 32 bytes. */
  blockBitmapCsum: number;
}

/** A run of blocks: [start, start + count). */
export type BlockRun = readonly [start: number, count: number];

function isPowerOf(n: number, base: number): boolean {
  let x = base;
  while (x < n) x *= base;
  return x === n;
}

/** Whether group `g` holds a superblock backup (sparse_super: 0, 1 and powers of 3, 5, 7). */
export function hasSuper(sb: ExtSuperblock, g: number): boolean {
  if (g === 0) return true;
  if (sb.sparseSuper2) return g === sb.backupGroups[0] || g === sb.backupGroups[1];
  if (g === 1 || !sb.sparseSuper) return true;
  if (g % 2 === 0) return false;
  return isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
}

export function groupFirstBlock(sb: ExtSuperblock, g: number): number {
  return sb.firstDataBlock + g * sb.blocksPerGroup;
}

/** The block holding group g's superblock copy; the primary is always at byte 1024. */
function superBlockOf(sb: ExtSuperblock, g: number): number {
  return g === 0 ? Math.floor(1024 / sb.blockSize) : groupFirstBlock(sb, g);
}

export function inodeTableBlocks(sb: ExtSuperblock): number {
  return Math.ceil((sb.inodesPerGroup * sb.inodeSize) / sb.blockSize);
}

/** Where descriptor block `nr` of the primary table lives (the kernel's descriptor_loc). */
function descriptorBlock(sb: ExtSuperblock, nr: number): number {
  if (!sb.metaBg || nr < sb.firstMetaBg) return superBlockOf(sb, 0) + nr + 1;
  const g = nr * sb.descPerBlock;
  return groupFirstBlock(sb, g) + (hasSuper(sb, g) ? 1 : 0) + (g === 0 && sb.blockSize === 1024 && sb.firstDataBlock === 0 ? 1 : 0);
}

/**
 * The superblock backup and descriptor blocks in group g, as the kernel and e2fsprogs reserve
 * them (where the two differ, e.g. reserved GDT blocks under meta_bg, both are counted).
 */
export function baseMetaBlocks(sb: ExtSuperblock, g: number): BlockRun[] {
  const runs: BlockRun[] = [];
  const withSuper = hasSuper(sb, g);
  const start = superBlockOf(sb, g);
  if (!sb.metaBg || g < sb.firstMetaBg * sb.descPerBlock) {
    if (withSuper) runs.push([start, 1 + (sb.metaBg ? sb.firstMetaBg : sb.gdtBlocks) + sb.reservedGdtBlocks]);
    return runs;
  }
  if (withSuper) runs.push([start, 1]);
  const index = g % sb.descPerBlock;
  if (index === 0 || index === 1 || index === sb.descPerBlock - 1) {
    runs.push([groupFirstBlock(sb, g) + (withSuper ? 1 : 0), 1]);
  }
  return runs;
}

function descChecksum(sb: ExtSuperblock, g: number, d: Buffer): number | undefined {
  const le = Buffer.alloc(4);
  le.writeUInt32LE(g);
  const after = d.subarray(0x20, sb.descSize);
  if (sb.metadataCsum) {
    let c = crc32cUpdate(sb.csumSeed, le);
    c = crc32cUpdate(c, d.subarray(0, 0x1e));
    c = crc32cUpdate(c, Buffer.alloc(2));
    c = crc32cUpdate(c, after);
    return c & 0xffff;
  }
  if (sb.gdtCsum) {
    let c = crc16Update(0xffff, sb.uuid);
    c = crc16Update(c, le);
    c = crc16Update(c, d.subarray(0, 0x1e));
    if (sb.bit64) c = crc16Update(c, after);
    return c;
  }
  return undefined;
}

/**
 * Reads and checks every group descriptor. A descriptor with a bad checksum, or pointing its
 * bitmaps or inode table outside the file system, makes the whole table untrusted (ERR_CORRUPT).
 */
export async function readGroupDescriptors(reader: MetadataReader, base: number, sb: ExtSuperblock): Promise<GroupDesc[]> {
  const table = Buffer.alloc(sb.gdtBlocks * sb.blockSize);
  for (let nr = 0; nr < sb.gdtBlocks; ) {
    const first = descriptorBlock(sb, nr);
    let n = 1;
    while (nr + n < sb.gdtBlocks && descriptorBlock(sb, nr + n) === first + n) n++;
    const buf = await reader.read(base + first * sb.blockSize, n * sb.blockSize);
    buf.copy(table, nr * sb.blockSize);
    nr += n;
  }

  const itb = inodeTableBlocks(sb);
  const inFs = (block: number, count: number): boolean => block >= sb.firstDataBlock && block + count <= sb.blocksCount;
  const descs: GroupDesc[] = [];
  for (let g = 0; g < sb.groupCount; g++) {
    const d = table.subarray(g * sb.descSize, (g + 1) * sb.descSize);
    const expected = descChecksum(sb, g, d);
    if (expected !== undefined && expected !== d.readUInt16LE(0x1e)) {
      throw new HoldfastError('ERR_CORRUPT', `bad checksum in the descriptor of group ${g}`);
    }
    const wide = sb.descSize >= 64;
    const hi = (off: number): number => (wide ? d.readUInt32LE(off) * 2 ** 32 : 0);
    const desc: GroupDesc = {
      blockBitmap: d.readUInt32LE(0x00) + hi(0x20),
      inodeBitmap: d.readUInt32LE(0x04) + hi(0x24),
      inodeTable: d.readUInt32LE(0x08) + hi(0x28),
      flags: d.readUInt16LE(0x12),
      blockBitmapCsum: d.readUInt16LE(0x18) + (wide ? d.readUInt16LE(0x38) * 0x10000 : 0),
    };
    if (!inFs(desc.blockBitmap, 1) || !inFs(desc.inodeBitmap, 1) || !inFs(desc.inodeTable, itb)) {
      throw new HoldfastError('ERR_CORRUPT', `the descriptor of group ${g} points outside the file system`);
    }
    descs.push(desc);
  }
  return descs;
}

/**
 * For each group, the metadata blocks that lie in it: its own superblock backup and descriptor
 * blocks, plus the bitmaps and inode tables of every group placed there (flex_bg puts a whole
 * flex group's tables in its first group).
 */
export function metadataByGroup(sb: ExtSuperblock, descs: GroupDesc[]): Map<number, BlockRun[]> {
  const byGroup = new Map<number, BlockRun[]>();
  const add = (start: number, count: number): void => {
    let s = start;
    const end = start + count;
    while (s < end) {
      const g = Math.floor((s - sb.firstDataBlock) / sb.blocksPerGroup);
      const groupEnd = groupFirstBlock(sb, g + 1);
      const stop = Math.min(end, groupEnd);
      if (g >= 0) {
        let runs = byGroup.get(g);
        if (runs === undefined) byGroup.set(g, (runs = []));
        runs.push([s, stop - s]);
      }
      s = stop;
    }
  };
  const itb = inodeTableBlocks(sb);
  for (let g = 0; g < sb.groupCount; g++) {
    for (const [s, n] of baseMetaBlocks(sb, g)) add(s, n);
    const d = descs[g]!;
    add(d.blockBitmap, 1);
    add(d.inodeBitmap, 1);
    add(d.inodeTable, itb);
  }
  return byGroup;
}
