// A pool of crypto workers with bounded queues. Jobs are gathered into batches whose bytes travel
// in one buffer, so tens of thousands of small files do not cost a message and a transfer each.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HoldfastError, type ErrorCode } from '../errors.js';
import type { CryptoKey } from '../format/crypto.js';
import type { CryptoBatch, CryptoJob, CryptoResult, CryptoResults, KeyMaterial } from './crypto-jobs.js';

type JobSpec = { kind: 'seal'; level: number; id?: string | undefined } | { kind: 'open'; uncompressedLength?: number | undefined; expectedId?: string | undefined } | { kind: 'hash' };

interface Pending {
  readonly spec: JobSpec;
  readonly data: Uint8Array;
  readonly resolve: (r: { result: CryptoResult; buffer: ArrayBuffer }) => void;
  readonly reject: (e: Error) => void;
}

interface WorkerSlot {
  readonly worker: Worker;
  inFlightBytes: number;
  readonly batches: Map<number, { pending: Pending[]; bytes: number }>;
}

const BATCH_BYTES = 2 * 1024 * 1024;
const BATCH_JOBS = 128;
/** Bytes queued per worker before producers wait: enough to keep it busy, little memory. */
const MAX_INFLIGHT_PER_WORKER = 6 * 1024 * 1024;

const fromSources = import.meta.url.endsWith('.ts');

function startWorker(workerData: KeyMaterial): Worker {
  if (!fromSources) return new Worker(new URL('./crypto-worker.js', import.meta.url), { workerData });
  // Loader hooks do not reach worker threads by themselves: register tsx inside the worker first.
  const entry = new URL('./crypto-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
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
      worker.on('message', (msg: CryptoResults) => this.onResults(slot, msg));
      worker.on('error', (err) => this.fail(new HoldfastError('ERR_IO', `crypto worker failed: ${err.message}`)));
      worker.unref();
      this.slots.push(slot);
    }
  }

  get workerCount(): number {
    return this.slots.length;
  }

  /** Hashes (unless `id` is given), compresses at `level` (0: not at all) and seals a blob. */
  async seal(data: Uint8Array, level: number, id?: string): Promise<{ id: string; sealed: Buffer; uncompressedLength?: number | undefined }> {
    const { result, buffer } = await this.submit({ kind: 'seal', level, id }, data);
    if (result.kind !== 'seal') throw new Error('unexpected worker result');
    return { id: result.id, sealed: Buffer.from(buffer, result.offset, result.length), uncompressedLength: result.uncompressedLength };
  }

  /** Verifies, decrypts and decompresses a stored blob; checks its plaintext hash when `expectedId` is given. */
  async open(stored: Uint8Array, uncompressedLength?: number, expectedId?: string): Promise<Buffer> {
    const { result, buffer } = await this.submit({ kind: 'open', uncompressedLength, expectedId }, stored);
    if (result.kind !== 'open') throw new Error('unexpected worker result');
    return Buffer.from(buffer, result.offset, result.length);
  }

  /** The blob id (SHA-256) of a plaintext, computed on a worker. */
  async hash(data: Uint8Array): Promise<string> {
    const { result } = await this.submit({ kind: 'hash' }, data);
    if (result.kind !== 'hash') throw new Error('unexpected worker result');
    return result.id;
  }

  /** Resolves when the workers have room for more work; callers await it to bound memory. */
  async ready(): Promise<void> {
    while (!this.failure && this.totalInFlight() + this.batchBytes >= MAX_INFLIGHT_PER_WORKER * this.slots.length) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private submit(spec: JobSpec, data: Uint8Array): Promise<{ result: CryptoResult; buffer: ArrayBuffer }> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('crypto pool is closed'));
    return new Promise<{ result: CryptoResult; buffer: ArrayBuffer }>((resolve, reject) => {
      this.batch.push({ spec, data, resolve, reject });
      this.batchBytes += data.byteLength;
      if (this.batch.length >= BATCH_JOBS || this.batchBytes >= BATCH_BYTES) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    }).then((r) => {
      if (r.result.kind === 'error') throw new HoldfastError(r.result.code as ErrorCode, r.result.message);
      return r;
    });
  }

  /** Copies the batch's bytes into one buffer and hands it to the least busy worker. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0) return;
    const pending = this.batch;
    const bytes = this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    const buffer = new ArrayBuffer(bytes);
    const view = new Uint8Array(buffer);
    let at = 0;
    const jobs = pending.map((p): CryptoJob => {
      view.set(p.data, at);
      const job = { ...p.spec, offset: at, length: p.data.byteLength } as CryptoJob;
      at += p.data.byteLength;
      return job;
    });
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.inFlightBytes < slot.inFlightBytes) slot = s;
    const seq = ++this.seq;
    slot.inFlightBytes += bytes;
    slot.batches.set(seq, { pending, bytes });
    // A busy worker keeps the process alive; an idle one must not (the pool may never be closed).
    if (slot.batches.size === 1) slot.worker.ref();
    const batch: CryptoBatch = { seq, buffer, jobs };
    slot.worker.postMessage(batch, [buffer]);
  }

  private onResults(slot: WorkerSlot, msg: CryptoResults): void {
    const b = slot.batches.get(msg.seq);
    if (!b) return;
    slot.batches.delete(msg.seq);
    slot.inFlightBytes -= b.bytes;
    if (slot.batches.size === 0) slot.worker.unref();
    b.pending.forEach((p, i) => p.resolve({ result: msg.results[i]!, buffer: msg.buffer }));
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
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
    this.wakeWaiters();
  }
}
