// The buffers crypto batches and their results travel in. One size serves every ordinary batch
// and its results, so a spent buffer always fits the next use and a backup in steady state
// allocates none. Buffers that grew with each batch and were dropped when they did not fit made
// 2.1 GB of allocations in a backup of the Linux tree (0.36 GB now); glibc kept about 50 MiB of
// what they freed in the threads' arenas. The pool now holds that memory itself, for reuse.
//
// A blob bigger than a standard buffer (a chunk of 2 to 8 MiB: about 50 in that backup) gets
// buffers made to measure, dropped after use. Keeping up to 16 MiB of them for reuse saved about
// 70 allocations a run, no time measurably, and held the 16 MiB to the end.

export class BatchBuffers {
  private readonly standard: ArrayBuffer[] = [];

  /** `standardBytes` is the size of an ordinary buffer; all of them are kept (the pool's limit on work in flight bounds them). */
  constructor(readonly standardBytes: number) {}

  /** A buffer of at least `bytes`: a standard one if it fits, otherwise one of exactly `bytes`. */
  take(bytes: number): ArrayBuffer {
    if (bytes <= this.standardBytes) return this.standard.pop() ?? new ArrayBuffer(this.standardBytes);
    return new ArrayBuffer(bytes);
  }

  /** Takes back a spent buffer for reuse; buffers of any other size are dropped. */
  give(buffer: ArrayBuffer | undefined): void {
    if (buffer?.byteLength === this.standardBytes) this.standard.push(buffer);
  }
}
