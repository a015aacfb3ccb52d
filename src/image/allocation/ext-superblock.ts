// The ext2/3/4 superblock: the fields allocation needs, checked (magic, metadata_csum checksum,
// geometry) so that a damaged one is refused rather than trusted. Offsets per the kernel's ext4 docs.

import { HoldfastError } from '../../errors.js';
import { crc32cUpdate } from './checksums.js';
import type { FsType } from './types.js';

export const extSuperblockOffset = 1024;
export const extMagic = 0xef53;

const compat = { hasJournal: 0x4, sparseSuper2: 0x200 } as const;
const incompat = {
  filetype: 0x2,
  recover: 0x4,
  journalDev: 0x8,
  metaBg: 0x10,
  bit64: 0x80,
  csumSeed: 0x2000,
} as const;
/** Every incompat feature Linux knows; one outside this set may change the layout. */
const knownIncompat = 0x0001 | 0x0002 | 0x0004 | 0x0008 | 0x0010 | 0x0040 | 0x0080 | 0x0100 | 0x0200 | 0x0400 | 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000;
const roCompat = { sparseSuper: 0x1, gdtCsum: 0x10, bigalloc: 0x200, metadataCsum: 0x400 } as const;
/** Features an ext3 driver handles; anything beyond makes it ext4 (as blkid names it). */
const ext3Incompat = incompat.filetype | incompat.recover | incompat.metaBg;
const ext3RoCompat = roCompat.sparseSuper | 0x2 | 0x4;

const errorFsState = 0x2;

export interface ExtSuperblock {
  fsType: FsType;
  blockSize: number;
  /** Blocks per bitmap bit: 1, or the bigalloc cluster size in blocks. */
  clusterRatio: number;
  blocksCount: number;
  firstDataBlock: number;
  blocksPerGroup: number;
  clustersPerGroup: number;
  inodesPerGroup: number;
  inodeSize: number;
  groupCount: number;
  descSize: number;
  descPerBlock: number;
  /** Number of blocks the group descriptor table takes. */
  gdtBlocks: number;
  reservedGdtBlocks: number;
  firstMetaBg: number;
  metaBg: boolean;
  sparseSuper: boolean;
  sparseSuper2: boolean;
  backupGroups: [number, number];
  metadataCsum: boolean;
  gdtCsum: boolean;
  bit64: boolean;
  /** Seed of every metadata_csum checksum. */
  csumSeed: number;
  uuid: Buffer;
  hasJournal: boolean;
  journalInode: number;
  needsRecovery: boolean;
}

function corrupt(reason: string): HoldfastError {
  return new HoldfastError('ERR_CORRUPT', reason);
}

/** True when `buf` (at least 1024 bytes read at the superblock's offset) has the ext magic. */
export function hasExtMagic(sb: Buffer): boolean {
  return sb.length >= 0x3a && sb.readUInt16LE(0x38) === extMagic;
}

/** The file system name to put in messages before the superblock is known to be sound. */
export function extNameOf(sb: Buffer): FsType {
  const inc = sb.readUInt32LE(0x60);
  const ro = sb.readUInt32LE(0x64);
  if ((inc & ~ext3Incompat) !== 0 || (ro & ~ext3RoCompat) !== 0) return 'ext4';
  return sb.readUInt32LE(0x5c) & compat.hasJournal ? 'ext3' : 'ext2';
}

/**
 * Parses and checks the 1024-byte superblock of a volume of `volumeBytes`. Throws ERR_CORRUPT
 * with a reason when it cannot be trusted to describe the volume.
 */
export function parseExtSuperblock(sb: Buffer, volumeBytes: number): ExtSuperblock {
  if (!hasExtMagic(sb)) throw corrupt('bad superblock magic');
  const featCompat = sb.readUInt32LE(0x5c);
  const featIncompat = sb.readUInt32LE(0x60);
  const featRo = sb.readUInt32LE(0x64);
  const revLevel = sb.readUInt32LE(0x4c);
  const metadataCsum = (featRo & roCompat.metadataCsum) !== 0;
  if (metadataCsum) {
    if (sb[0x175] !== 1) throw corrupt(`unknown superblock checksum type ${sb[0x175]}`);
    if (crc32cUpdate(0xffffffff, sb.subarray(0, 0x3fc)) !== sb.readUInt32LE(0x3fc)) throw corrupt('bad superblock checksum');
  }
  if (featIncompat & incompat.journalDev) throw corrupt('an external journal device, not a file system with bitmaps');
  const unknown = featIncompat & ~knownIncompat;
  if (unknown !== 0) throw corrupt(`unknown incompatible features 0x${unknown.toString(16)}`);
  if (sb.readUInt16LE(0x3a) & errorFsState) throw corrupt('the file system is marked as having errors, so its bitmaps may be wrong');

  const logBlock = sb.readUInt32LE(0x18);
  if (logBlock > 6) throw corrupt(`block size 2^${10 + logBlock} is out of range`);
  const blockSize = 1024 << logBlock;
  const bigalloc = (featRo & roCompat.bigalloc) !== 0;
  const logCluster = sb.readUInt32LE(0x1c);
  if (bigalloc ? logCluster < logBlock || logCluster - logBlock > 16 : logCluster !== logBlock) {
    throw corrupt(`cluster size 2^${10 + logCluster} does not fit block size ${blockSize}`);
  }
  const clusterRatio = bigalloc ? 1 << (logCluster - logBlock) : 1;
  const blocksPerGroup = sb.readUInt32LE(0x20);
  const clustersPerGroup = bigalloc ? sb.readUInt32LE(0x24) : blocksPerGroup;
  const inodesPerGroup = sb.readUInt32LE(0x28);
  const bitsPerBlock = blockSize * 8;
  if (clustersPerGroup === 0 || clustersPerGroup > bitsPerBlock || clustersPerGroup % 8 !== 0) {
    throw corrupt(`${clustersPerGroup} clusters per group does not fit a ${blockSize}-byte bitmap`);
  }
  if (blocksPerGroup !== clustersPerGroup * clusterRatio) throw corrupt(`${blocksPerGroup} blocks per group is not ${clustersPerGroup} clusters`);
  if (inodesPerGroup === 0 || inodesPerGroup > bitsPerBlock) throw corrupt(`${inodesPerGroup} inodes per group is out of range`);

  const bit64 = (featIncompat & incompat.bit64) !== 0;
  const blocksCount = sb.readUInt32LE(0x04) + (bit64 ? sb.readUInt32LE(0x150) * 2 ** 32 : 0);
  const firstDataBlock = sb.readUInt32LE(0x14);
  if (firstDataBlock !== (blockSize === 1024 && !bigalloc ? 1 : 0)) throw corrupt(`first data block ${firstDataBlock} is wrong for ${blockSize}-byte blocks`);
  if (blocksCount <= firstDataBlock) throw corrupt(`block count ${blocksCount} is too small`);
  if (blocksCount * blockSize > volumeBytes) {
    throw corrupt(`it claims ${blocksCount * blockSize} bytes but the volume has ${volumeBytes}`);
  }
  const groupCount = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  const inodesCount = sb.readUInt32LE(0x00);
  if (groupCount * inodesPerGroup !== inodesCount) {
    throw corrupt(`${groupCount} groups of ${inodesPerGroup} inodes do not make the ${inodesCount} inodes it claims`);
  }

  const descSize = bit64 ? sb.readUInt16LE(0xfe) : 32;
  if (bit64 && (descSize < 64 || descSize > 1024 || (descSize & (descSize - 1)) !== 0)) throw corrupt(`group descriptor size ${descSize} is invalid`);
  const descPerBlock = blockSize / descSize;
  const inodeSize = revLevel === 0 ? 128 : sb.readUInt16LE(0x58);
  if (inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) throw corrupt(`inode size ${inodeSize} is invalid`);

  const gdtBlocks = Math.ceil(groupCount / descPerBlock);
  const reservedGdtBlocks = sb.readUInt16LE(0xce);
  if (reservedGdtBlocks > blockSize / 4) throw corrupt(`${reservedGdtBlocks} reserved descriptor blocks is out of range`);
  const metaBg = (featIncompat & incompat.metaBg) !== 0;
  const firstMetaBg = sb.readUInt32LE(0x104);
  if (metaBg && firstMetaBg > gdtBlocks) throw corrupt(`first meta_bg ${firstMetaBg} is beyond the ${gdtBlocks} descriptor blocks`);

  const uuid = Buffer.from(sb.subarray(0x68, 0x78));
  const csumSeed = featIncompat & incompat.csumSeed ? sb.readUInt32LE(0x270) : crc32cUpdate(0xffffffff, uuid);
  const fsType = extNameOf(sb);
  return {
    fsType,
    blockSize,
    clusterRatio,
    blocksCount,
    firstDataBlock,
    blocksPerGroup,
    clustersPerGroup,
    inodesPerGroup,
    inodeSize,
    groupCount,
    descSize,
    descPerBlock,
    gdtBlocks,
    reservedGdtBlocks,
    firstMetaBg,
    metaBg,
    sparseSuper: (featRo & roCompat.sparseSuper) !== 0,
    sparseSuper2: (featCompat & compat.sparseSuper2) !== 0,
    backupGroups: [sb.readUInt32LE(0x24c), sb.readUInt32LE(0x250)],
    metadataCsum,
    gdtCsum: (featRo & roCompat.gdtCsum) !== 0,
    bit64,
    csumSeed,
    uuid,
    hasJournal: (featCompat & compat.hasJournal) !== 0,
    journalInode: sb.readUInt32LE(0xe0),
    needsRecovery: (featIncompat & incompat.recover) !== 0,
  };
}
