// The MBR partition table: four primary entries in sector 0 and, for an extended partition, the
// chain of EBRs that each describe one logical partition. Sectors are 512 bytes.

import type { MetadataReader } from './metadata-reader.js';
import { clipToImage, type Partition, type PartitionTable, type TableArea } from './partition-table.js';

export const mbrSectorSize = 512;

/** More EBRs than this means a loop or garbage; Linux stops far earlier in practice. */
const maxLogicalPartitions = 256;

export interface MbrEntry {
  type: number;
  startLba: number;
  sectors: number;
}

export const protectiveMbrType = 0xee;
const extendedTypes = new Set([0x05, 0x0f, 0x85]);

/**
 * The four entries of a boot sector, or undefined when the sector cannot be a partition table
 * (no 0x55AA signature, or a boot flag other than 0x00/0x80: then bytes 446… are boot code).
 */
export function parseMbrEntries(sector: Buffer): MbrEntry[] | undefined {
  if (sector.length < 512 || sector[510] !== 0x55 || sector[511] !== 0xaa) return undefined;
  const entries: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const e = 446 + 16 * i;
    const flag = sector[e]!;
    if (flag !== 0x00 && flag !== 0x80) return undefined;
    entries.push({ type: sector[e + 4]!, startLba: sector.readUInt32LE(e + 8), sectors: sector.readUInt32LE(e + 12) });
  }
  return entries;
}

function typeName(type: number): string {
  return `0x${type.toString(16).padStart(2, '0')}`;
}

/** The partitions of a sector-0 table (entries from parseMbrEntries), following EBR chains. */
export async function readMbr(reader: MetadataReader, entries: MbrEntry[]): Promise<PartitionTable> {
  const warnings: string[] = [];
  const areas: TableArea[] = [{ table: 'mbr', offset: 0, length: mbrSectorSize }];
  const partitions: Partition[] = [];
  const add = (p: Partition): void => {
    const clipped = clipToImage(p, reader.size, 'MBR', warnings);
    if (clipped !== undefined) partitions.push(clipped);
  };

  let nextLogical = 5;
  for (const [i, e] of entries.entries()) {
    if (e.type === 0 || e.sectors === 0) continue;
    if (e.startLba === 0) {
      warnings.push(`MBR: entry ${i + 1} starts at sector 0, over the table itself; ignoring it`);
      continue;
    }
    if (!extendedTypes.has(e.type)) {
      add({ number: i + 1, offset: e.startLba * mbrSectorSize, length: e.sectors * mbrSectorSize, type: typeName(e.type) });
      continue;
    }
    nextLogical = await readEbrChain(reader, e, nextLogical, areas, add, warnings);
  }
  return { scheme: 'mbr', areas, partitions, warnings };
}

/**
 * Follows the EBR chain of one extended partition. Each EBR's first entry is a logical partition
 * relative to that EBR; its second entry links to the next EBR relative to the extended start.
 */
async function readEbrChain(
  reader: MetadataReader,
  extended: MbrEntry,
  firstNumber: number,
  areas: TableArea[],
  add: (p: Partition) => void,
  warnings: string[],
): Promise<number> {
  let number = firstNumber;
  const seen = new Set<number>();
  let ebrLba = extended.startLba;
  const extEnd = extended.startLba + extended.sectors;
  for (;;) {
    if (seen.has(ebrLba) || seen.size >= maxLogicalPartitions) {
      warnings.push(`MBR: the chain of logical partitions loops at sector ${ebrLba}; stopping there`);
      return number;
    }
    seen.add(ebrLba);
    if (ebrLba >= extEnd || (ebrLba + 1) * mbrSectorSize > reader.size) {
      warnings.push(`MBR: an EBR at sector ${ebrLba} lies outside the extended partition or the image; stopping there`);
      return number;
    }
    const sector = await reader.read(ebrLba * mbrSectorSize, mbrSectorSize);
    const ebr = parseMbrEntries(sector);
    if (ebr === undefined) {
      warnings.push(`MBR: the EBR at sector ${ebrLba} has no valid signature; stopping the logical partitions there`);
      return number;
    }
    areas.push({ table: 'ebr', offset: ebrLba * mbrSectorSize, length: mbrSectorSize });
    const [logical, link] = ebr as [MbrEntry, MbrEntry];
    if (logical.type !== 0 && logical.sectors !== 0 && !extendedTypes.has(logical.type)) {
      add({
        number: number++,
        offset: (ebrLba + logical.startLba) * mbrSectorSize,
        length: logical.sectors * mbrSectorSize,
        type: typeName(logical.type),
      });
    }
    if (!extendedTypes.has(link.type) || link.sectors === 0) return number;
    ebrLba = extended.startLba + link.startLba;
  }
}
