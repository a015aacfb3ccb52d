// Block bitmaps waiting in the journal of an ext3/4 volume copied while mounted (or after a crash):
// committed transactions not yet written home say which blocks are in use once they are replayed.

import { HoldfastError } from '../../errors.js';
import type { ExtSuperblock } from './ext-superblock.js';
import { inodeTableBlocks, type GroupDesc } from './ext-groups.js';
import type { MetadataReader } from './metadata-reader.js';

const jbd2Magic = 0xc03b3998;
const blockType = { descriptor: 1, commit: 2, superblockV1: 3, superblockV2: 4, revoke: 5 } as const;
const jIncompat = { bit64: 0x2, csumV2: 0x8, csumV3: 0x10, fastCommit: 0x20 } as const;
const tagFlag = { escape: 0x1, sameUuid: 0x2, lastTag: 0x8 } as const;
const extentsFlag = 0x80000;
const extentMagic = 0xf30a;

function corrupt(reason: string): HoldfastError {
  return new HoldfastError('ERR_CORRUPT', reason);
}

/** Physical block of each logical block of an inode, from its extent tree or block map. */
async function inodeBlockMap(reader: MetadataReader, base: number, sb: ExtSuperblock, inode: Buffer, blocks: number): Promise<Float64Array> {
  const map = new Float64Array(blocks);
  const bs = sb.blockSize;
  const readBlock = (b: number): Promise<Buffer> => {
    if (b === 0 || b >= sb.blocksCount) throw corrupt(`journal inode points at block ${b}, outside the file system`);
    return reader.read(base + b * bs, bs);
  };
  const iBlock = inode.subarray(0x28, 0x28 + 60);

  if (inode.readUInt32LE(0x20) & extentsFlag) {
    const walk = async (node: Buffer, depth: number): Promise<void> => {
      if (node.readUInt16LE(0) !== extentMagic) throw corrupt('bad extent header in the journal inode');
      const entries = node.readUInt16LE(2);
      if (node.readUInt16LE(6) !== depth || 12 * (entries + 1) > node.length) throw corrupt('inconsistent extent tree in the journal inode');
      for (let i = 0; i < entries; i++) {
        const e = node.subarray(12 + 12 * i, 24 + 12 * i);
        if (depth > 0) {
          await walk(await readBlock(e.readUInt32LE(4) + e.readUInt16LE(8) * 2 ** 32), depth - 1);
          continue;
        }
        const logical = e.readUInt32LE(0);
        const rawLen = e.readUInt16LE(4);
        const len = rawLen > 32768 ? rawLen - 32768 : rawLen;
        const start = e.readUInt32LE(8) + e.readUInt16LE(6) * 2 ** 32;
        for (let k = 0; k < len && logical + k < blocks; k++) map[logical + k] = start + k;
      }
    };
    const depth = iBlock.readUInt16LE(6);
    if (depth > 5) throw corrupt('extent tree of the journal inode is too deep');
    await walk(iBlock, depth);
  } else {
    const perBlock = bs / 4;
    let next = 0;
    const walk = async (block: number, level: number): Promise<void> => {
      if (next >= blocks || block === 0) {
        next += perBlock ** (level + 1);
        return;
      }
      if (level < 0) {
        map[next++] = block;
        return;
      }
      const ptrs = await readBlock(block);
      for (let i = 0; i < perBlock; i++) await walk(ptrs.readUInt32LE(4 * i), level - 1);
    };
    for (let i = 0; i < 12; i++) await walk(iBlock.readUInt32LE(4 * i), -1);
    for (let level = 0; level < 3; level++) await walk(iBlock.readUInt32LE(4 * (12 + level)), level);
  }
  for (let i = 0; i < blocks; i++) if (map[i] === 0) throw corrupt(`journal block ${i} is not mapped`);
  return map;
}

/**
 * The copies of block bitmaps in the committed transactions of the journal, by the bitmap's
 * block number. Empty when the journal holds nothing to replay. Throws ERR_CORRUPT when the
 * journal cannot be followed: then nothing short of reading the whole volume is safe.
 */
export async function journaledBitmaps(
  reader: MetadataReader,
  base: number,
  sb: ExtSuperblock,
  descs: GroupDesc[],
): Promise<Map<number, Buffer[]>> {
  const bs = sb.blockSize;
  const found = new Map<number, Buffer[]>();
  if (!sb.hasJournal || sb.journalInode === 0) throw corrupt('it needs journal recovery from an external journal, which is not in this image');
  const ino = sb.journalInode - 1;
  const g = Math.floor(ino / sb.inodesPerGroup);
  const index = ino % sb.inodesPerGroup;
  if (g >= descs.length || index >= inodeTableBlocks(sb) * (bs / sb.inodeSize)) throw corrupt(`journal inode ${sb.journalInode} does not exist`);
  const inode = await reader.read(base + descs[g]!.inodeTable * bs + index * sb.inodeSize, 128);
  const size = inode.readUInt32LE(0x04) + inode.readUInt32LE(0x6c) * 2 ** 32;
  const journalBlocks = Math.floor(size / bs);
  if (journalBlocks < 2) throw corrupt('the journal inode is empty');
  const map = await inodeBlockMap(reader, base, sb, inode, journalBlocks);
  const readLogical = (n: number): Promise<Buffer> => reader.read(base + map[n]! * bs, bs);

  const jsb = await readLogical(0);
  const type = jsb.readUInt32BE(4);
  if (jsb.readUInt32BE(0) !== jbd2Magic || (type !== blockType.superblockV1 && type !== blockType.superblockV2)) throw corrupt('bad journal superblock');
  if (jsb.readUInt32BE(12) !== bs) throw corrupt('journal block size differs from the file system block size');
  const maxLen = jsb.readUInt32BE(16);
  const first = jsb.readUInt32BE(20);
  let sequence = jsb.readUInt32BE(24);
  const start = jsb.readUInt32BE(28);
  if (start === 0) return found;
  const features = type === blockType.superblockV2 ? jsb.readUInt32BE(0x28) : 0;
  if (features & jIncompat.fastCommit) throw corrupt('its journal has fast commits, which this parser does not replay');
  if (maxLen > journalBlocks || first < 1 || first >= maxLen || start < first || start >= maxLen) throw corrupt('inconsistent journal geometry');

  const csum = (features & (jIncompat.csumV2 | jIncompat.csumV3)) !== 0;
  const tagBytes = features & jIncompat.csumV3 ? 16 : (features & jIncompat.bit64 ? 12 : 8) + (features & jIncompat.csumV2 ? 2 : 0);
  const bitmapBlocks = new Set(descs.map((d) => d.blockBitmap));
  const next = (n: number): number => (n + 1 >= maxLen ? first : n + 1);

  let pos = start;
  let pending: Array<[target: number, pos: number, escaped: boolean]> = [];
  for (let walked = 0; walked < maxLen; ) {
    const block = await readLogical(pos);
    if (block.readUInt32BE(0) !== jbd2Magic || block.readUInt32BE(8) !== sequence) break;
    const kind = block.readUInt32BE(4);
    pos = next(pos);
    walked++;
    if (kind === blockType.descriptor) {
      const end = bs - (csum ? 4 : 0);
      for (let off = 12; off + tagBytes <= end; ) {
        const target = block.readUInt32BE(off) + (features & jIncompat.bit64 ? block.readUInt32BE(off + 8) * 2 ** 32 : 0);
        const flags = features & jIncompat.csumV3 ? block.readUInt32BE(off + 4) : block.readUInt16BE(off + 6);
        if (bitmapBlocks.has(target)) pending.push([target, pos, (flags & tagFlag.escape) !== 0]);
        pos = next(pos);
        walked++;
        off += tagBytes + (flags & tagFlag.sameUuid ? 0 : 16);
        if (flags & tagFlag.lastTag) break;
      }
    } else if (kind === blockType.commit) {
      for (const [target, at, escaped] of pending) {
        const copy = Buffer.from(await readLogical(at));
        if (escaped) copy.writeUInt32BE(jbd2Magic, 0);
        let list = found.get(target);
        if (list === undefined) found.set(target, (list = []));
        list.push(copy);
      }
      pending = [];
      sequence = (sequence + 1) >>> 0;
    } else if (kind !== blockType.revoke) {
      break;
    }
  }
  return found;
}
