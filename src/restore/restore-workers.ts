// The writer threads of a restore: range jobs go to the thread with the fewest bytes queued, and
// each job's result comes back as a promise. Pack bytes move to a thread without a copy, or the
// thread reads them itself.

import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { HoldfastError } from '../errors.js';
import type { CryptoKey } from '../format/crypto.js';
import type { KeyMaterial } from '../repository/crypto-jobs.js';
import { startWorker } from '../repository/start-worker.js';
import { type RangeJob, type RangeResult, rangeLength } from './write-jobs.js';

interface Slot {
  readonly worker: Worker;
  queuedBytes: number;
  readonly pending: Map<number, { bytes: number; resolve: (r: RangeResult) => void; reject: (e: Error) => void }>;
}

/**
 * A thread allocates little on its heap (the blobs are in buffers), yet V8 would let its young
 * generation grow to 32 MiB like the main thread's: 4 MiB keeps each thread's heap near its minimum.
 */
const YOUNG_GENERATION_MB = 4;

export class RestoreWorkers {
  private readonly slots: Slot[] = [];
  private seq = 0;
  private failure: Error | undefined;

  constructor(key: CryptoKey, count = Math.max(1, Math.min(availableParallelism(), 8))) {
    const material: KeyMaterial = { encrypt: key.encrypt, macK: key.macK, macR: key.macR };
    for (let i = 0; i < count; i++) {
      const worker = startWorker(import.meta.url, 'restore-worker', material, { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB });
      const slot: Slot = { worker, queuedBytes: 0, pending: new Map() };
      slot.worker.on('message', (r: RangeResult) => {
        const p = slot.pending.get(r.seq);
        if (!p) return;
        slot.pending.delete(r.seq);
        slot.queuedBytes -= p.bytes;
        p.resolve(r);
      });
      slot.worker.on('error', (err) => this.fail(new HoldfastError('ERR_IO', `restore writer thread failed: ${err.message}`)));
      this.slots.push(slot);
    }
  }

  /** Runs a job (its buffers are handed over and unusable afterwards). */
  run(job: Omit<RangeJob, 'seq'>): Promise<RangeResult> {
    if (this.failure) return Promise.reject(this.failure);
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.queuedBytes < slot.queuedBytes) slot = s;
    const seq = ++this.seq;
    const bytes = rangeLength(job.data);
    slot.queuedBytes += bytes;
    return new Promise((resolve, reject) => {
      slot.pending.set(seq, { bytes, resolve, reject });
      const transfer = [job.blobNumbers.buffer, job.targets.buffer, job.fileNumbers.buffer] as ArrayBuffer[];
      if (job.data instanceof ArrayBuffer) transfer.push(job.data);
      slot.worker.postMessage({ ...job, seq }, transfer);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const slot of this.slots) {
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    }
  }
}
