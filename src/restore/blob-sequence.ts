// Blobs needed one after the other (file contents written to a stream), loaded and verified ahead
// of their turn within a byte budget, so that a dump is not a series of round trips.

import type { Repository } from '../repository/repository.js';
import { plaintextLength } from './file-blobs.js';

interface Queued {
  readonly id: string;
  readonly bytes: number;
  loading: Promise<Buffer> | undefined;
}

export class BlobSequence {
  private readonly queue: Queued[] = [];
  private head = 0;
  /** Bytes of blobs loading or loaded and not yet taken. */
  private ahead = 0;

  constructor(
    private readonly repo: Repository,
    private readonly budget = 64 * 1024 * 1024,
  ) {}

  /** Appends blobs to the sequence; loading starts as the budget allows. */
  push(ids: readonly string[]): void {
    for (const id of ids) {
      const loc = this.repo.index.lookup('data', id);
      this.queue.push({ id, bytes: loc ? plaintextLength(loc) : 0, loading: undefined });
    }
    this.start();
  }

  /** The next blob of the sequence (verified against its id). */
  async next(): Promise<Buffer> {
    const item = this.queue[this.head];
    if (!item) throw new Error('blob sequence is empty');
    this.queue[this.head] = undefined as unknown as Queued;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    const loading = item.loading ?? this.load(item);
    try {
      return await loading;
    } finally {
      this.ahead -= item.bytes;
      this.start();
    }
  }

  private load(item: Queued): Promise<Buffer> {
    this.ahead += item.bytes;
    item.loading = this.repo.loadBlob('data', item.id);
    // Failures surface when the blob's turn comes.
    item.loading.catch(() => undefined);
    return item.loading;
  }

  private start(): void {
    for (let i = this.head; i < this.queue.length && this.ahead < this.budget; i++) {
      const item = this.queue[i]!;
      if (!item.loading) this.load(item);
    }
  }
}
