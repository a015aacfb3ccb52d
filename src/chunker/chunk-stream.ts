// Chunks an async stream of buffers (a pipe, an HTTP body, any Readable) into restic chunks.
// Memory stays bounded by one maximal chunk plus one block, whatever the stream's length.

import { ChunkArea } from './chunk-area.js';
import type { ChunkerOptions } from './chunker.js';
import { createKernel } from './kernel.js';
import { tablesFor } from './tables.js';

const BLOCK_SIZE = 1024 * 1024;

/**
 * Yields the chunks of `source`, in order, each as a Buffer of its own. The source's buffers are
 * copied, so the source may reuse them once the next one is requested.
 */
export async function* chunkStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, pol: bigint, options: ChunkerOptions = {}): AsyncGenerator<Buffer> {
  const area = new ChunkArea(createKernel(tablesFor(pol), options.kernel), BLOCK_SIZE);
  const ready: Buffer[] = [];
  for await (const data of source) {
    for (let offset = 0; offset < data.length; ) {
      const space = area.space();
      const n = Math.min(space.length, data.length - offset);
      space.set(data.subarray(offset, offset + n));
      area.append(n);
      offset += n;
      area.drain(ready);
      yield* ready;
      ready.length = 0;
    }
  }
  const last = area.finish();
  if (last !== undefined) yield last;
}
