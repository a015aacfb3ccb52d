// The GUID partition table: the header at LBA 1 (CRC-checked, as is its entry array) with the
// backup header at the last LBA as fallback. Sector size is 512 or 4096, found by the signature.

import { HoldfastError } from '../../errors.js';
import { crc32 } from './checksums.js';
import type { MetadataReader } from './metadata-reader.js';
import { clipToImage, type Partition, type PartitionTable, type TableArea } from './partition-table.js';

const signature = Buffer.from('EFI PART', 'latin1');
/** UEFI allows more, but an array beyond this is damage, not a real table. */
const maxEntryArrayBytes = 1 << 20;

interface GptHeader {
  myLba: number;
  alternateLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  entriesLba: number;
  entryCount: number;
  entrySize: number;
  entriesCrc: number;
}

/** The header in `sector`, or the reason it is not a valid header for `lba`. */
function parseHeader(sector: Buffer, lba: number): GptHeader | string {
  if (!sector.subarray(0, 8).equals(signature)) return 'no "EFI PART" signature';
  const headerSize = sector.readUInt32LE(12);
  if (headerSize < 92 || headerSize > sector.length) return `header size ${headerSize} is invalid`;
  const copy = Buffer.from(sector.subarray(0, headerSize));
  copy.writeUInt32LE(0, 16);
  if (crc32(copy) !== sector.readUInt32LE(16)) return 'header CRC32 mismatch';
  const h: GptHeader = {
    myLba: Number(sector.readBigUInt64LE(24)),
    alternateLba: Number(sector.readBigUInt64LE(32)),
    firstUsableLba: Number(sector.readBigUInt64LE(40)),
    lastUsableLba: Number(sector.readBigUInt64LE(48)),
    entriesLba: Number(sector.readBigUInt64LE(72)),
    entryCount: sector.readUInt32LE(80),
    entrySize: sector.readUInt32LE(84),
    entriesCrc: sector.readUInt32LE(88),
  };
  if (h.myLba !== lba) return `header says it is at LBA ${h.myLba}, not ${lba}`;
  if (h.entrySize < 128 || h.entrySize % 8 !== 0) return `entry size ${h.entrySize} is invalid`;
  if (h.entryCount * h.entrySize > maxEntryArrayBytes) return `${h.entryCount} entries is implausibly many`;
  if (h.entriesLba < 2) return `entry array at LBA ${h.entriesLba} overlaps the header`;
  return h;
}

function guidString(b: Buffer): string {
  const hex = (x: Buffer): string => x.toString('hex');
  const le = (x: Buffer): string => hex(Buffer.from(x).reverse());
  return `${le(b.subarray(0, 4))}-${le(b.subarray(4, 6))}-${le(b.subarray(6, 8))}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`;
}

interface LoadedTable {
  header: GptHeader;
  entries: Buffer;
}

/** A header at `lba` with its CRC-checked entry array, or the reason there is none. */
async function load(reader: MetadataReader, sectorSize: number, lba: number): Promise<LoadedTable | string> {
  if (lba < 1 || (lba + 1) * sectorSize > reader.size) return `LBA ${lba} is outside the image`;
  const header = parseHeader(await reader.read(lba * sectorSize, sectorSize), lba);
  if (typeof header === 'string') return header;
  const bytes = header.entryCount * header.entrySize;
  if (header.entriesLba * sectorSize + bytes > reader.size) return 'entry array extends beyond the image';
  const entries = await reader.read(header.entriesLba * sectorSize, bytes);
  if (crc32(entries) !== header.entriesCrc) return 'entry array CRC32 mismatch';
  return { header, entries };
}

/**
 * Reads the GPT of a disk whose sector 0 is a protective MBR. Throws ERR_CORRUPT when neither
 * the primary nor the backup table is intact: the caller then reads the whole disk.
 */
export async function readGpt(reader: MetadataReader): Promise<PartitionTable> {
  const warnings: string[] = [];
  let sectorSize = 512;
  for (const candidate of [512, 4096]) {
    if (2 * candidate > reader.size) break;
    const probe = await reader.read(candidate, 8);
    if (probe.equals(signature)) {
      sectorSize = candidate;
      break;
    }
  }
  const lastLba = Math.floor(reader.size / sectorSize) - 1;

  const primary = await load(reader, sectorSize, 1);
  let table: LoadedTable;
  if (typeof primary !== 'string') {
    table = primary;
    const backup = await load(reader, sectorSize, primary.header.alternateLba);
    if (typeof backup === 'string') warnings.push(`GPT: backup header at LBA ${primary.header.alternateLba}: ${backup}`);
  } else {
    const backup = await load(reader, sectorSize, lastLba);
    if (typeof backup === 'string') {
      throw new HoldfastError('ERR_CORRUPT', `GPT: primary header: ${primary}; backup header at LBA ${lastLba}: ${backup}`);
    }
    warnings.push(`GPT: primary header: ${primary}; using the backup at LBA ${lastLba}`);
    table = backup;
  }

  const { header, entries } = table;
  const areas = gptAreas(header, table === primary, sectorSize, lastLba);
  const partitions: Partition[] = [];
  for (let i = 0; i < header.entryCount; i++) {
    const e = entries.subarray(i * header.entrySize, (i + 1) * header.entrySize);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40));
    if (last < first) {
      warnings.push(`GPT: partition ${i + 1} ends (LBA ${last}) before it starts (LBA ${first}); ignoring it`);
      continue;
    }
    if (first < header.firstUsableLba || last > header.lastUsableLba) {
      warnings.push(`GPT: partition ${i + 1} (LBA ${first}–${last}) lies outside the usable LBAs`);
    }
    const label = e.subarray(56, 128).toString('utf16le').replace(/\0.*$/s, '');
    const p: Partition = {
      number: i + 1,
      offset: first * sectorSize,
      length: (last - first + 1) * sectorSize,
      type: guidString(e.subarray(0, 16)),
      ...(label === '' ? {} : { label }),
    };
    const clipped = clipToImage(p, reader.size, 'GPT', warnings);
    if (clipped !== undefined) partitions.push(clipped);
  }
  return { scheme: 'gpt', areas, partitions, warnings };
}

/**
 * The protective MBR, the primary header with its entry array, and the backup entry array with
 * its header. The backup's place is taken from the header when the primary is in use.
 */
function gptAreas(h: GptHeader, isPrimary: boolean, sectorSize: number, lastLba: number): TableArea[] {
  const entrySectors = Math.ceil((h.entryCount * h.entrySize) / sectorSize);
  const primaryEntriesLba = isPrimary ? h.entriesLba : 2;
  const backupLba = isPrimary ? h.alternateLba : h.myLba;
  const backupEntriesLba = isPrimary ? backupLba - entrySectors : h.entriesLba;
  const areas: TableArea[] = [
    { table: 'protective-mbr', offset: 0, length: sectorSize },
    { table: 'gpt', offset: sectorSize, length: sectorSize },
    { table: 'gpt', offset: primaryEntriesLba * sectorSize, length: entrySectors * sectorSize },
  ];
  if (backupLba <= lastLba && backupEntriesLba > primaryEntriesLba) {
    areas.push({ table: 'gpt-backup', offset: backupEntriesLba * sectorSize, length: entrySectors * sectorSize });
    areas.push({ table: 'gpt-backup', offset: backupLba * sectorSize, length: sectorSize });
  }
  return areas;
}
