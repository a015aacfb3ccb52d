// Reads metadata from a BlockSource for the parsers: checks that every read stays inside the
// image and returns what was asked for, and counts the bytes read so callers can report them.

import { HoldfastError } from '../../errors.js';
import type { BlockSource } from './types.js';

export class MetadataReader {
  bytesRead = 0;

  constructor(private readonly src: BlockSource) {}

  get size(): number {
    return this.src.size;
  }

  /**
   * Reads [offset, offset + length). A range outside the image means the structure that pointed
   * there is damaged, so that is reported as corruption for the caller to fall back on.
   */
  async read(offset: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.src.size) {
      throw new HoldfastError('ERR_CORRUPT', `metadata at byte ${offset} (+${length}) lies outside the ${this.src.size}-byte image`);
    }
    if (length === 0) return Buffer.alloc(0);
    const buf = await this.src.read(offset, length);
    if (buf.length !== length) {
      throw new HoldfastError('ERR_IO', `short read: ${buf.length} of ${length} bytes at byte ${offset}`);
    }
    this.bytesRead += length;
    return buf;
  }
}
