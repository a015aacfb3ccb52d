// Which byte ranges of a disk or volume image are in use: finds the partition table (GPT, MBR)
// or a whole-disk file system, asks each volume's file system, and reads everything else.

import { HoldfastError, invalidArgument } from '../../errors.js';
import { extAllocation } from './ext-allocation.js';
import { extNameOf, extSuperblockOffset, hasExtMagic, parseExtSuperblock } from './ext-superblock.js';
import { ExtentBuilder } from './extent-builder.js';
import { fatAllocation, isFatBootSector, parseFatBootSector } from './fat.js';
import { foreignSignature } from './foreign-signatures.js';
import { readGpt } from './gpt.js';
import { parseMbrEntries, protectiveMbrType, readMbr } from './mbr.js';
import { MetadataReader } from './metadata-reader.js';
import type { Partition, PartitionTable, TableArea } from './partition-table.js';
import type { AllocationMap, BlockSource, DetectOptions, FsType, LayoutPart, VolumePart } from './types.js';

interface Volume {
  name: string;
  offset: number;
  length: number;
  partition?: Partition;
}

const isCorrupt = (err: unknown): err is HoldfastError => err instanceof HoldfastError && err.code === 'ERR_CORRUPT';

/**
 * Parses the image's partition table and file systems and returns the byte ranges that must be
 * read to restore it. Anything not understood, or understood but damaged, is read in full and
 * explained in `warnings`; only I/O errors of the source are thrown.
 */
export async function detectAllocation(src: BlockSource, options: DetectOptions = {}): Promise<AllocationMap> {
  const granularity = options.granularity ?? 512;
  if (!Number.isSafeInteger(granularity) || granularity < 512 || (granularity & (granularity - 1)) !== 0) {
    throw invalidArgument(`granularity ${granularity} must be a power of two of at least 512`);
  }
  const reader = new MetadataReader(src);
  const size = src.size;
  const warnings: string[] = [];
  const head = await reader.read(0, Math.min(size, 4096));

  let table: PartitionTable | undefined;
  let wholeDisk = true;
  const entries = size >= 512 ? parseMbrEntries(head.subarray(0, 512)) : undefined;
  if (entries?.some((e) => e.type === protectiveMbrType)) {
    wholeDisk = false;
    try {
      table = await readGpt(reader);
    } catch (err) {
      if (!isCorrupt(err)) throw err;
      warnings.push(`${err.message}; reading the whole disk in full`);
    }
  } else if (entries?.some((e) => e.type !== 0) && !isFatBootSector(head)) {
    wholeDisk = false;
    table = await readMbr(reader, entries);
  }
  warnings.push(...(table?.warnings ?? []));

  const areas = table?.areas ?? [];
  const volumes = wholeDisk ? [{ name: 'disk', offset: 0, length: size }] : usableVolumes(table?.partitions ?? [], areas, warnings);

  const used = new ExtentBuilder(0, size, granularity);
  const layout: LayoutPart[] = [];
  let cursor = 0;
  for (const v of volumes) {
    fillBetween(layout, areas, cursor, v.offset);
    used.add(cursor, v.offset - cursor);
    const { part, extents } = await probeVolume(reader, v, granularity, warnings);
    layout.push(part);
    for (const e of extents.extents) used.add(e.offset, e.length);
    cursor = v.offset + v.length;
  }
  fillBetween(layout, areas, cursor, size);
  used.add(cursor, size - cursor);

  return {
    size,
    used: used.extents,
    usedBytes: used.bytes,
    granularity,
    layout,
    warnings,
    metadataBytesRead: reader.bytesRead,
  };
}

/**
 * The partitions as volumes in disk order. A partition overlapping another one or a table area
 * is not probed: its file system could call bytes unused that the other needs.
 */
function usableVolumes(partitions: Partition[], areas: TableArea[], warnings: string[]): Volume[] {
  const sorted = [...partitions].sort((a, b) => a.offset - b.offset);
  const overlaps = (a: { offset: number; length: number }, b: { offset: number; length: number }): boolean =>
    a.offset < b.offset + b.length && b.offset < a.offset + a.length;
  const bad = new Set<Partition>();
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j]!.offset < sorted[i]!.offset + sorted[i]!.length; j++) {
      warnings.push(`partitions ${sorted[i]!.number} and ${sorted[j]!.number} overlap; reading both in full`);
      bad.add(sorted[i]!).add(sorted[j]!);
    }
    const area = areas.find((a) => overlaps(a, sorted[i]!));
    if (area !== undefined) {
      warnings.push(`partition ${sorted[i]!.number} overlaps the ${area.table} at byte ${area.offset}; reading it in full`);
      bad.add(sorted[i]!);
    }
  }
  return sorted.filter((p) => !bad.has(p)).map((p) => ({ name: `partition ${p.number}`, offset: p.offset, length: p.length, partition: p }));
}

/** Layout parts for [from, to), which holds no volume: table areas and the gaps around them. */
function fillBetween(layout: LayoutPart[], areas: TableArea[], from: number, to: number): void {
  let cursor = from;
  const inside = areas.filter((a) => a.offset >= from && a.offset + a.length <= to).sort((a, b) => a.offset - b.offset);
  for (const a of inside) {
    if (a.offset < cursor) continue;
    if (a.offset > cursor) layout.push({ kind: 'gap', offset: cursor, length: a.offset - cursor });
    layout.push({ kind: 'table', table: a.table, offset: a.offset, length: a.length });
    cursor = a.offset + a.length;
  }
  if (to > cursor) layout.push({ kind: 'gap', offset: cursor, length: to - cursor });
}

/** The used extents of one volume, falling back to all of it when its file system is unknown or damaged. */
async function probeVolume(
  reader: MetadataReader,
  v: Volume,
  granularity: number,
  warnings: string[],
): Promise<{ part: VolumePart; extents: ExtentBuilder }> {
  const head = await reader.read(v.offset, Math.min(v.length, 4096));
  const extents = new ExtentBuilder(v.offset, v.offset + v.length, granularity);
  let fs: FsType = 'unknown';
  let fsLength: number | undefined;
  const warn = (problem: string): void => {
    warnings.push(`${fs} on ${v.name}: ${problem}`);
  };
  const full = (problem: string, what: string = fs): { part: VolumePart; extents: ExtentBuilder } => {
    warnings.push(`${what} on ${v.name}: ${problem}; reading it in full`);
    const all = new ExtentBuilder(v.offset, v.offset + v.length, granularity);
    all.add(v.offset, v.length);
    return { part: volumePart(v, fs, undefined, all.exactBytes), extents: all };
  };

  try {
    const sbBytes = head.subarray(extSuperblockOffset, extSuperblockOffset + 1024);
    if (sbBytes.length === 1024 && hasExtMagic(sbBytes)) {
      fs = extNameOf(sbBytes);
      const sb = parseExtSuperblock(sbBytes, v.length);
      fsLength = sb.blocksCount * sb.blockSize;
      await extAllocation({ reader, base: v.offset, length: v.length, sb, out: extents, warn });
    } else {
      const fat = parseFatBootSector(head, v.length);
      if (typeof fat === 'string') {
        const signature = foreignSignature(head);
        if (signature === 'FAT') return full(`a FAT boot sector that is not valid: ${fat}`, 'FAT');
        return full(signature === undefined ? 'no known signature' : `${signature} signature, not parsed`, 'unknown file system');
      }
      fs = fat.fsType;
      fsLength = fat.totalBytes;
      await fatAllocation({ reader, base: v.offset, length: v.length, geometry: fat, out: extents, warn });
    }
  } catch (err) {
    if (!isCorrupt(err)) throw err;
    return full(err.message);
  }
  return { part: volumePart(v, fs, fsLength, extents.exactBytes), extents };
}

function volumePart(v: Volume, fs: FsType, fsLength: number | undefined, usedBytes: number): VolumePart {
  return {
    kind: 'volume',
    name: v.name,
    offset: v.offset,
    length: v.length,
    fs,
    ...(fsLength === undefined ? {} : { fsLength }),
    usedBytes,
    ...(v.partition === undefined ? {} : { partitionType: v.partition.type }),
    ...(v.partition?.label === undefined ? {} : { label: v.partition.label }),
  };
}
