// Sparse restores: all-zero blocks are not written but left as holes, and the file is truncated
// to its size at the end, so a restored disk image or VM file takes only the space it used.

import type { BigIntStats, Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

const zeroBlocks = new Map<number, Buffer>();

function zeroBlock(size: number): Buffer {
  let zero = zeroBlocks.get(size);
  if (zero === undefined) {
    zero = Buffer.alloc(size);
    zeroBlocks.set(size, zero);
  }
  return zero;
}

/**
 * Writes file contents at any positions, skipping every all-zero block (blocks are aligned to
 * file offsets, so skipped ones become whole holes). The file must read as zeros where it has
 * not been written yet — a new or truncated file — and `finish` must give it its final size,
 * which also creates a trailing hole.
 */
export class SparseWriter {
  private readonly handle: FileHandle;
  private readonly blockSize: number;
  private readonly zero: Buffer;
  /** Bytes actually written, for tests and statistics. */
  bytesWritten = 0;

  constructor(handle: FileHandle, blockSize = 4096) {
    if (!Number.isInteger(blockSize) || blockSize <= 0) throw new RangeError(`invalid block size ${blockSize}`);
    this.handle = handle;
    this.blockSize = blockSize;
    this.zero = zeroBlock(blockSize);
  }

  private isZero(data: Buffer, start: number, end: number): boolean {
    return this.zero.compare(data, start, end, 0, end - start) === 0;
  }

  /** Writes `data` at `position`, leaving out the zero blocks; each run of other blocks is one write. */
  async write(data: Uint8Array, position: number): Promise<void> {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let runStart = -1;
    let offset = 0;
    while (offset < buf.length) {
      // Up to the next block boundary of the file, so that zero blocks line up with fs blocks.
      const end = Math.min(buf.length, offset + this.blockSize - ((position + offset) % this.blockSize));
      if (this.isZero(buf, offset, end)) {
        if (runStart >= 0) await this.writeRun(buf, runStart, offset, position);
        runStart = -1;
      } else if (runStart < 0) {
        runStart = offset;
      }
      offset = end;
    }
    if (runStart >= 0) await this.writeRun(buf, runStart, buf.length, position);
  }

  private async writeRun(buf: Buffer, start: number, end: number, position: number): Promise<void> {
    let done = start;
    while (done < end) {
      const { bytesWritten } = await this.handle.write(buf, done, end - done, position + done);
      done += bytesWritten;
    }
    this.bytesWritten += end - start;
  }

  /** Sets the file's final size: a file that ends in zeros gets them as a hole. */
  async finish(size: number | bigint): Promise<void> {
    await this.handle.truncate(Number(size));
  }
}

/** Whether a file has holes: fewer blocks allocated than its size needs (for tests and reports). */
export function isSparse(st: Stats | BigIntStats): boolean {
  return Number(st.blocks) * 512 < Number(st.size);
}
