// Collects used byte ranges in ascending order into a merged extent list, widened to a
// granularity so that the list stays short for large fragmented volumes.

import { HoldfastError } from '../../errors.js';
import type { Extent } from './types.js';

export class ExtentBuilder {
  readonly extents: Extent[] = [];
  /** Bytes covered by the ranges as given, before widening. */
  exactBytes = 0;
  private rawEnd = 0;
  private lastStart = 0;

  /** Ranges are widened to multiples of `granularity`, then clipped to [start, end). */
  constructor(
    readonly start: number,
    readonly end: number,
    readonly granularity: number,
  ) {
    this.rawEnd = start;
    this.lastStart = start;
  }

  /** Adds a range; ranges must come with non-decreasing offsets (they may overlap). */
  add(offset: number, length: number): void {
    if (length <= 0) return;
    if (offset < this.lastStart) {
      throw new HoldfastError('ERR_INVALID_ARGUMENT', `extent at ${offset} added after one at ${this.lastStart}`);
    }
    this.lastStart = offset;
    const rawStart = Math.max(offset, this.start);
    const rawStop = Math.min(offset + length, this.end);
    if (rawStop <= rawStart) return;
    this.exactBytes += Math.max(0, rawStop - Math.max(rawStart, this.rawEnd));
    this.rawEnd = Math.max(this.rawEnd, rawStop);

    const g = this.granularity;
    const from = Math.max(this.start, Math.floor(rawStart / g) * g);
    const to = Math.min(this.end, Math.ceil(rawStop / g) * g);
    const last = this.extents[this.extents.length - 1];
    if (last !== undefined && from <= last.offset + last.length) {
      last.length = Math.max(last.length, to - last.offset);
    } else {
      this.extents.push({ offset: from, length: to - from });
    }
  }

  /** Bytes covered by the widened extents. */
  get bytes(): number {
    let n = 0;
    for (const e of this.extents) n += e.length;
    return n;
  }
}
