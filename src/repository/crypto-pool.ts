// A pool of crypto workers with bounded queues. Small jobs are batched into one message so that
// tens of thousands of small files do not cost a message round trip each.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HoldfastError, type ErrorCode } from '../errors.js';
import type { CryptoKey } from '../format/crypto.js';
import type { CryptoJob, CryptoResult, HashJob, KeyMaterial, OpenJob, SealJob } from './crypto-jobs.js';

interface Pending {
  readonly job: CryptoJob;
  readonly resolve: (r: CryptoResult) => void;
  readonly reject: (e: Error) => void;
}

interface WorkerSlot {
  readonly worker: Worker;
  inFlightBytes: number;
  readonly batches: Map<number, { pending: Pending[]; bytes: number }>;
}

const BATCH_BYTES = 4 * 1024 * 1024;
const BATCH_JOBS = 64;
/** Bytes queued per worker before submitters wait: enough to keep it busy, bounded in memory. */
const MAX_INFLIGHT_PER_WORKER = 24 * 1024 * 1024;

/**
 * The bytes to post to a worker. A donated buffer that owns its memory moves without a copy (and
 * is unusable afterwards); anything else is copied, so callers' buffers never change under them.
 */
function transferable(data: Uint8Array, donate: boolean): { buffer: ArrayBuffer; byteOffset: number; byteLength: number } {
  if (donate && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) {
    return { buffer: data.buffer, byteOffset: 0, byteLength: data.byteLength };
  }
  const copy = new ArrayBuffer(data.byteLength);
  new Uint8Array(copy).set(data);
  return { buffer: copy, byteOffset: 0, byteLength: data.byteLength };
}

/** The worker's module beside this one; under a TypeScript loader (tests from sources) that is the .ts file. */
const fromSources = import.meta.url.endsWith('.ts');

function startWorker(workerData: KeyMaterial): Worker {
  if (!fromSources) return new Worker(new URL('./crypto-worker.js', import.meta.url), { workerData });
  // Loader hooks do not reach worker threads by themselves: register tsx inside the worker first.
  const entry = new URL('./crypto-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

export class CryptoPool {
  private readonly slots: WorkerSlot[] = [];
  private batch: Pending[] = [];
  private batchBytes = 0;
  private flushScheduled = false;
  private seq = 0;
  private waiters: (() => void)[] = [];
  private closed = false;
  private failure: Error | undefined;

  constructor(key: CryptoKey, workers = Math.max(1, Math.min(availableParallelism(), 8))) {
    const material: KeyMaterial = { encrypt: key.encrypt, macK: key.macK, macR: key.macR };
    for (let i = 0; i < workers; i++) {
      const worker = startWorker(material);
      const slot: WorkerSlot = { worker, inFlightBytes: 0, batches: new Map() };
      worker.on('message', (msg: { seq: number; results: CryptoResult[] }) => this.onResults(slot, msg));
      worker.on('error', (err) => this.fail(new HoldfastError('ERR_IO', `crypto worker failed: ${err.message}`)));
      worker.unref();
      this.slots.push(slot);
    }
  }

  get workerCount(): number {
    return this.slots.length;
  }

  /**
   * Hashes (unless `id` is given), compresses at `level` (0: not at all) and seals a blob. With
   * `donate`, the caller gives up `data` so it can move to the worker without a copy.
   */
  async seal(data: Uint8Array, level: number, id?: string, donate = false): Promise<{ id: string; sealed: Buffer; uncompressedLength?: number | undefined }> {
    const t = transferable(data, donate);
    const job: SealJob = { kind: 'seal', data: t.buffer, byteOffset: t.byteOffset, byteLength: t.byteLength, level, id };
    const r = await this.submit(job);
    if (r.kind !== 'seal') throw new Error('unexpected worker result');
    return { id: r.id, sealed: asBuffer(r.sealed), uncompressedLength: r.uncompressedLength };
  }

  /** Verifies, decrypts and decompresses a stored blob; checks its plaintext hash when `expectedId` is given. */
  async open(stored: Uint8Array, uncompressedLength?: number, expectedId?: string): Promise<Buffer> {
    const t = transferable(stored, true);
    const job: OpenJob = { kind: 'open', data: t.buffer, byteOffset: t.byteOffset, byteLength: t.byteLength, uncompressedLength, expectedId };
    const r = await this.submit(job);
    if (r.kind !== 'open') throw new Error('unexpected worker result');
    return asBuffer(r.plain);
  }

  /**
   * The SHA-256 of `data` as a blob id, computed in a worker; the bytes come back with it (moved
   * without a copy when donated), so a caller can still store them when the id is new.
   */
  async hash(data: Uint8Array, donate = false): Promise<{ id: string; data: Buffer }> {
    const t = transferable(data, donate);
    const job: HashJob = { kind: 'hash', data: t.buffer, byteOffset: t.byteOffset, byteLength: t.byteLength };
    const r = await this.submit(job);
    if (r.kind !== 'hash') throw new Error('unexpected worker result');
    return { id: r.id, data: asBuffer(r.data) };
  }

  /** Resolves when the workers have room for more work; callers await it to bound memory. */
  async ready(): Promise<void> {
    while (this.totalInFlight() + this.batchBytes >= MAX_INFLIGHT_PER_WORKER * this.slots.length) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private submit(job: CryptoJob): Promise<CryptoResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('crypto pool is closed'));
    return new Promise<CryptoResult>((resolve, reject) => {
      this.batch.push({ job, resolve, reject });
      this.batchBytes += job.byteLength;
      if (this.batch.length >= BATCH_JOBS || this.batchBytes >= BATCH_BYTES) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    }).then((r) => {
      if (r.kind === 'error') throw new HoldfastError(r.code as ErrorCode, r.message);
      return r;
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0) return;
    const pending = this.batch;
    const bytes = this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.inFlightBytes < slot.inFlightBytes) slot = s;
    const seq = ++this.seq;
    slot.inFlightBytes += bytes;
    slot.batches.set(seq, { pending, bytes });
    // A busy worker keeps the process alive; an idle one must not (the pool may never be closed).
    if (slot.batches.size === 1) slot.worker.ref();
    const jobs = pending.map((p) => p.job);
    slot.worker.postMessage({ seq, jobs }, jobs.map((j) => j.data));
  }

  private onResults(slot: WorkerSlot, msg: { seq: number; results: CryptoResult[] }): void {
    const b = slot.batches.get(msg.seq);
    if (!b) return;
    slot.batches.delete(msg.seq);
    slot.inFlightBytes -= b.bytes;
    if (slot.batches.size === 0) slot.worker.unref();
    b.pending.forEach((p, i) => p.resolve(msg.results[i]!));
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private totalInFlight(): number {
    let n = 0;
    for (const s of this.slots) n += s.inFlightBytes;
    return n;
  }

  private fail(err: Error): void {
    this.failure = err;
    for (const s of this.slots) {
      for (const b of s.batches.values()) for (const p of b.pending) p.reject(err);
      s.batches.clear();
    }
    for (const p of this.batch) p.reject(err);
    this.batch = [];
    for (const w of this.waiters) w();
  }
}
