// FAT12/16/32: reserved sectors, FATs and (FAT12/16) the root directory are always used; a data
// cluster is used when any FAT copy has a non-zero entry for it that is not the bad-cluster mark.

import type { ExtentBuilder } from './extent-builder.js';
import type { MetadataReader } from './metadata-reader.js';
import type { FsType } from './types.js';

/** FAT entries are read in slices of this many entries (even, so FAT12 pairs stay together). */
const entriesPerSlice = 1 << 18;

export interface FatGeometry {
  fsType: Extract<FsType, 'fat12' | 'fat16' | 'fat32'>;
  bytesPerSector: number;
  bytesPerCluster: number;
  reservedBytes: number;
  fatCount: number;
  fatBytes: number;
  /** Byte offset of cluster 2 from the start of the volume. */
  dataOffset: number;
  clusterCount: number;
  totalBytes: number;
  /** FAT32 with mirroring disabled: only this FAT is kept current. */
  activeFat: number | undefined;
}

const validMedia = (m: number): boolean => m === 0xf0 || m >= 0xf8;

/**
 * The geometry in a boot sector, or a reason it is not a FAT boot sector. The FAT type follows
 * Linux: FAT32 when the 16-bit FAT size is zero, else FAT12 below 4085 clusters, else FAT16.
 */
export function parseFatBootSector(b: Buffer, volumeBytes: number): FatGeometry | string {
  if (b.length < 512) return 'too short';
  if (!(b[0] === 0xeb || b[0] === 0xe9 || b[0] === 0x00)) return 'no jump instruction';
  const bytesPerSector = b.readUInt16LE(0x0b);
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) return `sector size ${bytesPerSector}`;
  const secPerClus = b[0x0d]!;
  if (secPerClus === 0 || (secPerClus & (secPerClus - 1)) !== 0) return `${secPerClus} sectors per cluster`;
  const reserved = b.readUInt16LE(0x0e);
  const fatCount = b[0x10]!;
  const rootEntries = b.readUInt16LE(0x11);
  const total16 = b.readUInt16LE(0x13);
  const media = b[0x15]!;
  const fat16Size = b.readUInt16LE(0x16);
  const total32 = b.readUInt32LE(0x20);
  if (reserved === 0 || fatCount === 0 || !validMedia(media)) return 'reserved sectors, FAT count or media byte invalid';
  const fat32 = fat16Size === 0;
  const fatSectors = fat32 ? b.readUInt32LE(0x24) : fat16Size;
  const totalSectors = total16 !== 0 ? total16 : total32;
  if (fatSectors === 0 || totalSectors === 0) return 'zero FAT size or sector count';
  if (fat32 && rootEntries !== 0) return 'FAT32 with a fixed root directory';

  const rootBytes = Math.ceil((rootEntries * 32) / bytesPerSector) * bytesPerSector;
  const reservedBytes = reserved * bytesPerSector;
  const fatBytes = fatSectors * bytesPerSector;
  const dataOffset = reservedBytes + fatCount * fatBytes + rootBytes;
  const totalBytes = totalSectors * bytesPerSector;
  const bytesPerCluster = secPerClus * bytesPerSector;
  if (dataOffset >= totalBytes) return 'no room for data clusters';
  const clusterCount = Math.floor((totalBytes - dataOffset) / bytesPerCluster);
  const fsType = fat32 ? 'fat32' : clusterCount < 4085 ? 'fat12' : 'fat16';
  const bits = fsType === 'fat12' ? 12 : fsType === 'fat16' ? 16 : 32;
  if (totalBytes > volumeBytes) return `it claims ${totalBytes} bytes but the volume has ${volumeBytes}`;
  if (Math.ceil(((clusterCount + 2) * bits) / 8) > fatBytes) return `${clusterCount} clusters do not fit a ${fatBytes}-byte FAT`;
  const extFlags = fat32 ? b.readUInt16LE(0x28) : 0;
  const activeFat = extFlags & 0x80 ? extFlags & 0x0f : undefined;
  if (activeFat !== undefined && activeFat >= fatCount) return `active FAT ${activeFat} of ${fatCount}`;
  if (fat32) {
    const rootCluster = b.readUInt32LE(0x2c);
    if (rootCluster < 2 || rootCluster >= clusterCount + 2) return `root cluster ${rootCluster} is outside the data area`;
  }
  return { fsType, bytesPerSector, bytesPerCluster, reservedBytes, fatCount, fatBytes, dataOffset, clusterCount, totalBytes, activeFat };
}

/** Whether `b` is a boot sector a FAT driver would accept, ignoring the volume size. */
export function isFatBootSector(b: Buffer): boolean {
  return b.length >= 512 && b[510] === 0x55 && b[511] === 0xaa && typeof parseFatBootSector(b, Number.MAX_SAFE_INTEGER) !== 'string';
}

export interface FatVolume {
  reader: MetadataReader;
  base: number;
  length: number;
  geometry: FatGeometry;
  out: ExtentBuilder;
  warn: (problem: string) => void;
}

function readEntry(fat: Buffer, fsType: FatGeometry['fsType'], i: number): number {
  if (fsType === 'fat32') return fat.readUInt32LE(4 * i) & 0x0fffffff;
  if (fsType === 'fat16') return fat.readUInt16LE(2 * i);
  const off = (i * 3) >> 1;
  const pair = fat[off]! | (fat[off + 1]! << 8);
  return i & 1 ? pair >> 4 : pair & 0xfff;
}

/**
 * Adds the used byte ranges of the volume to v.out, in order. Clusters marked bad are left out:
 * no file owns them, a restore may write zeros there, and reading them could only fail.
 */
export async function fatAllocation(v: FatVolume): Promise<void> {
  const { geometry: f, base, out } = v;
  const bad = f.fsType === 'fat12' ? 0xff7 : f.fsType === 'fat16' ? 0xfff7 : 0x0ffffff7;
  const bytesPerEntry = f.fsType === 'fat12' ? 1.5 : f.fsType === 'fat16' ? 2 : 4;
  const fats = f.activeFat === undefined ? [...Array(f.fatCount).keys()] : [f.activeFat];
  let mismatch = false;

  out.add(base, f.dataOffset);
  const last = f.clusterCount + 2;
  for (let from = 0; from < last; from += entriesPerSlice) {
    const to = Math.min(last, from + entriesPerSlice);
    const byteFrom = Math.floor(from * bytesPerEntry);
    const byteTo = Math.min(f.fatBytes, Math.ceil(to * bytesPerEntry));
    const copies: Buffer[] = [];
    for (const n of fats) copies.push(await v.reader.read(base + f.reservedBytes + n * f.fatBytes + byteFrom, byteTo - byteFrom));
    if (copies.some((c) => !c.equals(copies[0]!))) mismatch = true;
    let runStart = -1;
    for (let c = Math.max(2, from); c <= to; c++) {
      const used = c < to && copies.some((fat) => {
        const e = readEntry(fat, f.fsType, c - from);
        return e !== 0 && e !== bad;
      });
      if (used && runStart < 0) runStart = c;
      if (!used && runStart >= 0) {
        out.add(base + f.dataOffset + (runStart - 2) * f.bytesPerCluster, (c - runStart) * f.bytesPerCluster);
        runStart = -1;
      }
    }
  }
  if (mismatch) v.warn('the FAT copies differ; a cluster counts as used if any copy uses it');
  // Sectors past the last whole cluster belong to no cluster; the volume beyond the file system is not ours.
  out.add(base + f.totalBytes, v.length - f.totalBytes);
}
