// Used blocks of an ext2/3/4 volume from its block bitmaps, group by group, computing the bitmap
// of BLOCK_UNINIT groups as the kernel does and adding bitmaps still waiting in the journal.

import { crc32cUpdate } from './checksums.js';
import type { ExtentBuilder } from './extent-builder.js';
import { bgBlockUninit, groupFirstBlock, metadataByGroup, readGroupDescriptors, type BlockRun, type GroupDesc } from './ext-groups.js';
import { journaledBitmaps } from './ext-journal.js';
import type { ExtSuperblock } from './ext-superblock.js';
import type { MetadataReader } from './metadata-reader.js';

/** Bitmaps are read in runs of adjacent blocks (flex_bg packs them) up to this many bytes. */
const maxReadBytes = 1 << 20;

export interface ExtVolume {
  reader: MetadataReader;
  /** Byte offset of the volume in the image. */
  base: number;
  length: number;
  sb: ExtSuperblock;
  out: ExtentBuilder;
  /** Called with a problem confined to part of the volume, which is then read in full. */
  warn: (problem: string) => void;
}

/** Reads the block bitmaps of groups [from, to) in as few reads as adjacency allows. */
async function readBitmaps(v: ExtVolume, descs: GroupDesc[], from: number, to: number, skip: (g: number) => boolean): Promise<Map<number, Buffer>> {
  const bs = v.sb.blockSize;
  const wanted: Array<{ g: number; block: number }> = [];
  for (let g = from; g < to; g++) if (!skip(g)) wanted.push({ g, block: descs[g]!.blockBitmap });
  wanted.sort((a, b) => a.block - b.block);
  const bitmaps = new Map<number, Buffer>();
  for (let i = 0; i < wanted.length; ) {
    let j = i + 1;
    while (j < wanted.length && wanted[j]!.block - wanted[i]!.block === j - i && (j - i + 1) * bs <= maxReadBytes) j++;
    const buf = await v.reader.read(v.base + wanted[i]!.block * bs, (j - i) * bs);
    for (let k = i; k < j; k++) bitmaps.set(wanted[k]!.g, buf.subarray((k - i) * bs, (k - i + 1) * bs));
    i = j;
  }
  return bitmaps;
}

function bitmapChecksumOk(sb: ExtSuperblock, d: GroupDesc, bitmap: Buffer): boolean {
  const c = crc32cUpdate(sb.csumSeed, bitmap.subarray(0, sb.clustersPerGroup / 8));
  return sb.descSize >= 64 ? c === d.blockBitmapCsum : (c & 0xffff) === d.blockBitmapCsum;
}

function setBits(bits: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) bits[i >> 3]! |= 1 << (i & 7);
}

/** Adds the used byte ranges of the volume to v.out, in order. */
export async function extAllocation(v: ExtVolume): Promise<void> {
  const { sb, base, out } = v;
  const bs = sb.blockSize;
  const descs = await readGroupDescriptors(v.reader, base, sb);
  const meta = metadataByGroup(sb, descs);
  const journaled = sb.needsRecovery ? await journaledBitmaps(v.reader, base, sb, descs) : new Map<number, Buffer[]>();
  const csumFlags = sb.gdtCsum || sb.metadataCsum;
  const uninit = (g: number): boolean => csumFlags && (descs[g]!.flags & bgBlockUninit) !== 0;
  const fsEnd = sb.blocksCount * bs;
  const badBitmaps: number[] = [];

  // The boot block and the primary superblock; with 1 KiB blocks block 0 belongs to no group.
  out.add(base, 2048);
  const batch = Math.max(1, Math.floor(maxReadBytes / bs));
  for (let from = 0; from < sb.groupCount; from += batch) {
    const to = Math.min(sb.groupCount, from + batch);
    const bitmaps = await readBitmaps(v, descs, from, to, uninit);
    for (let g = from; g < to; g++) {
      const first = groupFirstBlock(sb, g);
      const blocks = Math.min(sb.blocksPerGroup, sb.blocksCount - first);
      const clusters = Math.ceil(blocks / sb.clusterRatio);
      const onDisk = bitmaps.get(g);
      if (onDisk !== undefined && sb.metadataCsum && !bitmapChecksumOk(sb, descs[g]!, onDisk)) {
        badBitmaps.push(g);
        out.add(base + first * bs, blocks * bs);
        continue;
      }
      const bits = onDisk === undefined ? new Uint8Array(bs) : Uint8Array.from(onDisk);
      for (const copy of journaled.get(descs[g]!.blockBitmap) ?? []) for (let i = 0; i < bits.length; i++) bits[i]! |= copy[i]!;
      for (const [s, n] of meta.get(g) ?? ([] as BlockRun[])) {
        setBits(bits, Math.floor((s - first) / sb.clusterRatio), Math.ceil((s + n - first) / sb.clusterRatio));
      }
      emitRuns(bits, clusters, (c0, c1) => {
        const from = (first + c0 * sb.clusterRatio) * bs;
        const to = Math.min(fsEnd, (first + c1 * sb.clusterRatio) * bs);
        out.add(base + from, to - from);
      });
    }
  }
  if (badBitmaps.length > 0) {
    const shown = badBitmaps.slice(0, 8).join(', ') + (badBitmaps.length > 8 ? ` and ${badBitmaps.length - 8} more` : '');
    v.warn(`bad block bitmap checksum in group(s) ${shown}; reading those groups in full`);
  }
  // Whatever follows the file system inside the volume is not ours to judge.
  out.add(base + fsEnd, v.length - fsEnd);
}

/** Calls emit(start, end) for every run of set bits in bits[0, count). */
function emitRuns(bits: Uint8Array, count: number, emit: (start: number, end: number) => void): void {
  let i = 0;
  while (i < count) {
    const byte = bits[i >> 3]!;
    if ((i & 7) === 0 && byte === 0) {
      i += 8;
      continue;
    }
    if (!(byte & (1 << (i & 7)))) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < count) {
      const b = bits[j >> 3]!;
      if ((j & 7) === 0 && b === 0xff) j += 8;
      else if (b & (1 << (j & 7))) j++;
      else break;
    }
    emit(i, Math.min(j, count));
    i = j;
  }
}
