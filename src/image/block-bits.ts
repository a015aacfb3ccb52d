// A set of block numbers as a bit array: which blocks are used, dirty or to be read. One bit per
// block, so even a disk of millions of blocks costs little memory.

import type { Extent } from './allocation/index.js';

export class BlockBits {
  readonly bits: Uint8Array;

  constructor(readonly count: number) {
    this.bits = new Uint8Array(Math.ceil(count / 8));
  }

  /** The blocks of `blockSize` bytes that any byte of the extents falls in. */
  static fromExtents(extents: Iterable<Extent>, blockSize: number, count: number): BlockBits {
    const set = new BlockBits(count);
    for (const e of extents) {
      if (e.length <= 0) continue;
      set.addRange(Math.floor(e.offset / blockSize), Math.ceil((e.offset + e.length) / blockSize));
    }
    return set;
  }

  has(i: number): boolean {
    return (this.bits[i >> 3]! & (1 << (i & 7))) !== 0;
  }

  add(i: number): void {
    this.bits[i >> 3]! |= 1 << (i & 7);
  }

  /** Adds blocks [first, end), clipped to the set's size. */
  addRange(first: number, end: number): void {
    for (let i = Math.max(0, first); i < Math.min(end, this.count); i++) this.add(i);
  }

  size(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.has(i)) n++;
    return n;
  }
}
