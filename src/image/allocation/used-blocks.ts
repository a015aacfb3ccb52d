// Projects an allocation map onto fixed-size backup blocks: a block is used when any byte of it
// is, which is the question an image backup asks for every block it might skip.

import { invalidArgument } from '../../errors.js';
import type { AllocationMap } from './types.js';

export class UsedBlocks {
  constructor(
    readonly blockSize: number,
    /** Number of blocks, the last one possibly short. */
    readonly count: number,
    /** Bit i (LSB first within each byte) is set when block i is used. */
    readonly bits: Uint8Array,
  ) {}

  has(block: number): boolean {
    return block >= 0 && block < this.count && (this.bits[block >> 3]! & (1 << (block & 7))) !== 0;
  }

  get usedCount(): number {
    let n = 0;
    for (const byte of this.bits) {
      let b = byte;
      while (b !== 0) {
        b &= b - 1;
        n++;
      }
    }
    return n;
  }
}

export function usedBlocks(map: AllocationMap, blockSize = 1 << 20): UsedBlocks {
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw invalidArgument(`block size ${blockSize} must be a positive integer`);
  const count = Math.ceil(map.size / blockSize);
  const bits = new Uint8Array(Math.ceil(count / 8));
  for (const e of map.used) {
    const first = Math.floor(e.offset / blockSize);
    const end = Math.min(count, Math.ceil((e.offset + e.length) / blockSize));
    let i = first;
    for (; i < end && (i & 7) !== 0; i++) bits[i >> 3]! |= 1 << (i & 7);
    for (; i + 8 <= end; i += 8) bits[i >> 3] = 0xff;
    for (; i < end; i++) bits[i >> 3]! |= 1 << (i & 7);
  }
  return new UsedBlocks(blockSize, count, bits);
}
