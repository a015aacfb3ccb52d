// The low-level streaming chunker: feed successive buffers of one stream, get back where chunks
// end. State carries across buffers; the caller keeps the bytes and decides what to do with them.

import { createKernel, type Kernel, type KernelChoice, type KernelKind } from './kernel.js';
import { WINDOW_SIZE } from './params.js';
import { tablesFor } from './tables.js';

export interface ChunkerOptions {
  /** `auto` (default) is wasm unless it cannot load; HOLDFAST_CHUNKER_KERNEL overrides `auto`. */
  kernel?: KernelChoice;
}

export interface Cut {
  /** Offset in the buffer just fed, just past the chunk's last byte. */
  readonly end: number;
  /** Length of the chunk, including bytes from earlier buffers. */
  readonly length: number;
  /** The rolling digest at the cut (restic's Chunk.Cut). */
  readonly digest: bigint;
}

// Input is copied into the kernel's memory this much at a time, after the 64 bytes that came
// before it, which the kernel reads as the window's outgoing bytes.
const STAGE_SIZE = 1024 * 1024;

export class Chunker {
  readonly #kernel: Kernel;
  #staged = 0;

  /** `pol` must be usable (see checkPolynomial); throws ERR_CONFIG otherwise. */
  constructor(pol: bigint, options: ChunkerOptions = {}) {
    this.#kernel = createKernel(tablesFor(pol), options.kernel);
    this.#kernel.reserve(WINDOW_SIZE + STAGE_SIZE);
  }

  get kernel(): KernelKind {
    return this.#kernel.kind;
  }

  /** Bytes fed since the last cut: the chunk still open. */
  get pending(): number {
    return this.#kernel.pending;
  }

  /** Continues the stream with `data`; returns the chunks that end inside it, in order. */
  feed(data: Uint8Array): Cut[] {
    const kernel = this.#kernel;
    const cuts: Cut[] = [];
    for (let offset = 0; offset < data.length; ) {
      const n = Math.min(STAGE_SIZE, data.length - offset);
      const area = kernel.area;
      area.copyWithin(0, this.#staged, this.#staged + WINDOW_SIZE);
      area.set(data.subarray(offset, offset + n), WINDOW_SIZE);
      this.#staged = n;
      const end = WINDOW_SIZE + n;
      for (let pos = WINDOW_SIZE; pos < end; ) {
        const before = kernel.pending;
        const cut = kernel.scan(pos, end);
        if (cut < 0) break;
        cuts.push({ end: offset + cut - WINDOW_SIZE, length: before + cut - pos, digest: kernel.lastCutDigest });
        pos = cut;
      }
      offset += n;
    }
    return cuts;
  }

  /** Ends the stream. Returns the length of its last chunk (0 if none) and starts a new stream. */
  finish(): number {
    const last = this.#kernel.pending;
    this.reset();
    return last;
  }

  /** Drops the open chunk and starts a new stream. */
  reset(): void {
    this.#kernel.reset();
    this.#staged = 0;
  }
}
