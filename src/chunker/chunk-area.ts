// Keeps the open chunk contiguous in the kernel's memory, with room for new input after it, so
// input can be read straight into that memory; finished chunks leave as copies or as views.

import type { Kernel } from './kernel.js';
import { MAX_SIZE } from './params.js';

export class ChunkArea {
  readonly #kernel: Kernel;
  readonly #blockSize: number;
  readonly #views: boolean;
  /** Start of the open chunk. */
  #start = 0;
  /** Bytes up to here have been scanned. */
  #scanned = 0;
  /** Bytes up to here hold input. */
  #end = 0;

  /**
   * `blockSize` is the most input taken at once; `blocksAhead` is how many blocks may be waiting
   * unscanned (or in flight) beyond the scanned part. With `views`, chunks are views into the
   * kernel's memory, valid until the area is next compacted or reset.
   */
  constructor(kernel: Kernel, blockSize: number, blocksAhead = 1, views = false) {
    this.#kernel = kernel;
    this.#blockSize = blockSize;
    this.#views = views;
    // An open chunk is shorter than MAX_SIZE once scanned, so compaction always makes this room.
    kernel.reserve(MAX_SIZE + blocksAhead * blockSize);
  }

  /** True when `space()` needs no compaction, which would move bytes in flight. */
  get hasRoom(): boolean {
    return this.#end + this.#blockSize <= this.#kernel.area.length;
  }

  /** Where the next block of input goes: `blockSize` bytes right after the input so far. */
  space(): Uint8Array {
    if (!this.hasRoom) this.#compact();
    return this.#kernel.area.subarray(this.#end, this.#end + this.#blockSize);
  }

  /** Takes `n` bytes just written into `space()`. */
  append(n: number): void {
    this.#end += n;
  }

  /** Scans the appended input; pushes each finished chunk, as its own Buffer, onto `out`. */
  drain(out: Buffer[]): void {
    const kernel = this.#kernel;
    while (this.#scanned < this.#end) {
      const cut = kernel.scan(this.#scanned, this.#end);
      if (cut < 0) {
        this.#scanned = this.#end;
        break;
      }
      out.push(this.#take(cut));
      this.#scanned = cut;
    }
  }

  /** Ends the stream: the open chunk, if any, is the last one. */
  finish(): Buffer | undefined {
    const last = this.#end > this.#start ? this.#take(this.#end) : undefined;
    this.reset();
    return last;
  }

  reset(): void {
    this.#kernel.reset();
    this.#start = this.#scanned = this.#end = 0;
  }

  #take(end: number): Buffer {
    const area = this.#kernel.area;
    let chunk: Buffer;
    if (this.#views) {
      chunk = Buffer.from(area.buffer, area.byteOffset + this.#start, end - this.#start);
    } else {
      // A Buffer of its own (not a pool slice), so it can be transferred to a worker.
      chunk = Buffer.allocUnsafeSlow(end - this.#start);
      chunk.set(area.subarray(this.#start, end));
    }
    this.#start = end;
    return chunk;
  }

  #compact(): void {
    this.#kernel.area.copyWithin(0, this.#start, this.#end);
    this.#scanned -= this.#start;
    this.#end -= this.#start;
    this.#start = 0;
  }
}
