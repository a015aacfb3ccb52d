// Chunks a file by descriptor with large positional reads straight into the kernel's memory; the
// next read is in flight while the current block is scanned and its chunks are consumed.

import { read } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { HoldfastError } from '../errors.js';
import { ChunkArea } from './chunk-area.js';
import type { ChunkerOptions } from './chunker.js';
import { createKernel, type Kernel, type KernelKind } from './kernel.js';
import { tablesFor } from './tables.js';

export interface FileChunkerOptions extends ChunkerOptions {
  /** Bytes per read; default 1 MiB. Memory use is about 8 MiB plus twice this. */
  readSize?: number;
  /**
   * Yield views into the chunker's memory instead of copies: each is valid only until the
   * generator is resumed. For consumers that copy or consume a chunk before asking for the next.
   */
  views?: boolean;
}

const DEFAULT_READ_SIZE = 1024 * 1024;

function readAt(fd: number, into: Uint8Array, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, into, 0, into.length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/**
 * A reusable file chunker: one kernel and one buffer, for one file at a time. Keep one per
 * concurrent reader, so that backing up many files allocates nothing per file but the chunks.
 */
export class FileChunker {
  readonly #kernel: Kernel;
  readonly #area: ChunkArea;
  #busy = false;

  /** Throws ERR_CONFIG if `pol` is unusable. */
  constructor(pol: bigint, options: FileChunkerOptions = {}) {
    const readSize = options.readSize ?? DEFAULT_READ_SIZE;
    if (!Number.isSafeInteger(readSize) || readSize < 1) {
      throw new HoldfastError('ERR_INVALID_ARGUMENT', `read size must be a positive integer, not ${readSize}`);
    }
    this.#kernel = createKernel(tablesFor(pol), options.kernel);
    // Room for the block being scanned and the one being read.
    this.#area = new ChunkArea(this.#kernel, readSize, 2, options.views ?? false);
  }

  get kernel(): KernelKind {
    return this.#kernel.kind;
  }

  /**
   * Yields the chunks of the file from offset 0 to end of file, each as a Buffer of its own. The
   * descriptor is neither moved nor closed. Throws ERR_INVALID_ARGUMENT while a previous
   * generator of this chunker is unfinished.
   */
  async *chunks(file: number | FileHandle): AsyncGenerator<Buffer> {
    if (this.#busy) throw new HoldfastError('ERR_INVALID_ARGUMENT', 'this FileChunker is already chunking a file; use one per concurrent file');
    this.#busy = true;
    const fd = typeof file === 'number' ? file : file.fd;
    const area = this.#area;
    const ready: Buffer[] = [];
    let position = 0;
    const read = (): Promise<number> => readAt(fd, area.space(), position);
    let reading: Promise<number> | undefined;
    try {
      area.reset();
      reading = read();
      while (reading !== undefined) {
        const n = await reading;
        reading = undefined;
        if (n === 0) break;
        position += n;
        area.append(n);
        // Without room the next read waits until draining lets the area compact.
        if (area.hasRoom) reading = read();
        area.drain(ready);
        yield* ready;
        ready.length = 0;
        reading ??= read();
      }
      const last = area.finish();
      if (last !== undefined) yield last;
    } finally {
      // A consumer that stops early leaves a read writing into the area; the next file must not
      // reuse the area before it lands. Its outcome no longer matters to anyone.
      if (reading !== undefined) await reading.catch(() => undefined);
      area.reset();
      this.#busy = false;
    }
  }
}

/** Chunks one file, opening and closing it when given a path. */
export async function* chunkFile(file: string | number | FileHandle, pol: bigint, options: FileChunkerOptions = {}): AsyncGenerator<Buffer> {
  const chunker = new FileChunker(pol, options);
  if (typeof file !== 'string') {
    yield* chunker.chunks(file);
    return;
  }
  const handle = await open(file, 'r');
  try {
    yield* chunker.chunks(handle);
  } finally {
    await handle.close();
  }
}
