// The buffers crypto batches and their results travel in. One size serves every ordinary batch
// and its results, so a spent buffer always fits the next use and a backup in steady state
// allocates none. Buffers that grew with each batch and were dropped when they did not fit made
// 2.1 GB of allocations in a backup of the Linux tree (0.36 GB now); glibc kept about 50 MiB of
// what they freed in the threads' arenas. The pool now holds that memory itself, for reuse.

const MiB = 1024 * 1024;

export class BatchBuffers {
  private readonly standard: ArrayBuffer[] = [];
  /** Larger buffers, for single blobs that do not fit a standard one, smallest first. */
  private readonly large: ArrayBuffer[] = [];

  /**
   * `standardBytes` is the size of an ordinary buffer; `keepLargeBytes` bounds the spent larger
   * buffers kept (standard ones are all kept: the pool's limit on work in flight bounds them).
   */
  constructor(
    readonly standardBytes: number,
    private readonly keepLargeBytes: number,
  ) {}

  /** A buffer of at least `bytes`: a standard one if it fits, otherwise one rounded up to whole MiB. */
  take(bytes: number): ArrayBuffer {
    if (bytes <= this.standardBytes) return this.standard.pop() ?? new ArrayBuffer(this.standardBytes);
    const fit = this.large.findIndex((b) => b.byteLength >= bytes);
    if (fit >= 0) return this.large.splice(fit, 1)[0]!;
    return new ArrayBuffer(Math.ceil(bytes / MiB) * MiB);
  }

  /** Takes back a spent buffer for reuse (buffers of other sizes, or beyond the bound, are dropped). */
  give(buffer: ArrayBuffer | undefined): void {
    if (!buffer) return;
    if (buffer.byteLength === this.standardBytes) {
      this.standard.push(buffer);
      return;
    }
    if (buffer.byteLength < this.standardBytes) return;
    let kept = buffer.byteLength;
    for (const b of this.large) kept += b.byteLength;
    if (kept > this.keepLargeBytes) return;
    const at = this.large.findIndex((b) => b.byteLength >= buffer.byteLength);
    this.large.splice(at < 0 ? this.large.length : at, 0, buffer);
  }
}
