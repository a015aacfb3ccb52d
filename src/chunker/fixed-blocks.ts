// Splits a stream into fixed-size blocks for disk images, where block i always covers the same
// byte range of the volume; only the last block of the stream may be short.

import { HoldfastError } from '../errors.js';

/**
 * Yields `blockSize`-byte Buffers of `source`, in order, each with memory of its own (the source
 * may reuse its buffers); the last one holds the remainder and may be shorter. Nothing for an
 * empty source.
 */
export async function* fixedBlocks(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, blockSize: number): AsyncGenerator<Buffer> {
  if (!Number.isSafeInteger(blockSize) || blockSize < 1) {
    throw new HoldfastError('ERR_INVALID_ARGUMENT', `block size must be a positive integer, not ${blockSize}`);
  }
  let block = Buffer.allocUnsafeSlow(blockSize);
  let filled = 0;
  for await (const data of source) {
    for (let offset = 0; offset < data.length; ) {
      const n = Math.min(blockSize - filled, data.length - offset);
      block.set(data.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === blockSize) {
        yield block;
        block = Buffer.allocUnsafeSlow(blockSize);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield block.subarray(0, filled);
}
