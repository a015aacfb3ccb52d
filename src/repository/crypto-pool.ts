// A pool of crypto workers with bounded queues. Jobs are copied into a batch buffer as they are
// submitted, and batch buffers travel to the workers and back and are reused: neither side
// allocates per blob, which keeps memory flat over tens of thousands of files.

import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { HoldfastError, type ErrorCode } from '../errors.js';
import type { CryptoKey } from '../format/crypto.js';
import { BatchBuffers } from './batch-buffers.js';
import { type CryptoBatch, type CryptoJob, type CryptoResult, type CryptoResults, type KeyMaterial, type KeyMessage, resultRoom, type VerifyBlobsJob } from './crypto-jobs.js';
import { startWorker } from './start-worker.js';

type JobSpec =
  | { kind: 'seal'; level: number; id?: string | undefined }
  | { kind: 'seal-file'; path: string; level: number; expected: number }
  | { kind: 'open'; uncompressedLength?: number | undefined; expectedId?: string | undefined }
  | { kind: 'hash' }
  | { kind: 'verify-blobs'; blobs: VerifyBlobsJob['blobs'] };

/**
 * A job's result; `bytes` is a view into a batch buffer that is reused as soon as `deliver` returns,
 * or the caller's own buffer handed back whole.
 */
type Deliver = (result: CryptoResult, bytes: Buffer | undefined) => void;

interface Pending {
  readonly job: CryptoJob;
  readonly deliver: Deliver;
  readonly reject: (e: Error) => void;
}

interface WorkerSlot {
  readonly worker: Worker;
  inFlightBytes: number;
  readonly batches: Map<number, { pending: Pending[]; bytes: number; handBack: boolean }>;
}

export interface SealedView {
  readonly id: string;
  /** Valid only during the callback it is passed to. */
  readonly sealed: Buffer;
  readonly uncompressedLength?: number | undefined;
}

/** Input bytes in a batch: enough that a worker's turn costs far more than the message. */
const BATCH_BYTES = 2 * 1024 * 1024;
const BATCH_JOBS = 128;
/**
 * The size of every ordinary buffer, for a batch and for its results, which need a little more
 * than its input (zstd's bound on incompressible data, the crypto overhead per blob).
 */
const BUFFER_BYTES = BATCH_BYTES + 64 * 1024;
/** Batches queued per worker before producers wait: one at work and one waiting keep it busy. */
const BATCHES_PER_WORKER = 2;

/**
 * A worker's objects live no longer than a batch (the bytes travel in transferred buffers): a
 * small young generation holds them. V8's default grows to 16 MiB per worker, and keeps it.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2 };

/** Workers started before the key was known (prestartCryptoWorkers), for the next pool. */
let prestarted: Worker[] = [];

const defaultWorkerCount = () => Math.max(1, Math.min(availableParallelism(), 8));

const startCryptoWorker = (): Worker => startWorker(import.meta.url, 'crypto-worker', undefined, WORKER_LIMITS);

/**
 * Starts the crypto workers of the next pool now: a backup does it while the key is derived
 * (0.4 s of one thread with restic's parameters), so that its first files do not wait another
 * 0.15 s for the workers to load. They keep no process alive while idle.
 */
export function prestartCryptoWorkers(count = defaultWorkerCount()): void {
  while (prestarted.length < count) {
    const worker = startCryptoWorker();
    worker.unref();
    // One that fails before a pool takes it is dropped: the pool starts another, whose failure it reports.
    const drop = () => (prestarted = prestarted.filter((w) => w !== worker));
    worker.once('error', drop).once('exit', drop);
    prestarted.push(worker);
  }
}

export class CryptoPool {
  private readonly slots: WorkerSlot[] = [];
  private batch: Pending[] = [];
  private batchBuffer: ArrayBuffer | undefined;
  private batchUsed = 0;
  /** The batch's work in bytes: its input, and the files its small-file jobs will read. */
  private batchWork = 0;
  /** What the batch's results need, by resultRoom(). */
  private batchRoom = 0;
  private flushScheduled = false;
  private seq = 0;
  private waiters: (() => void)[] = [];
  private readonly buffers = new BatchBuffers(BUFFER_BYTES);
  private closed = false;
  private failure: Error | undefined;

  constructor(key: CryptoKey, workers = defaultWorkerCount()) {
    const material: KeyMaterial = { encrypt: key.encrypt, macK: key.macK, macR: key.macR };
    const started = prestarted.splice(0, workers);
    for (const extra of prestarted.splice(0)) void extra.terminate();
    for (let i = 0; i < workers; i++) {
      const worker = started[i] ?? startCryptoWorker();
      worker.postMessage({ key: material } satisfies KeyMessage);
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

  /**
   * Hashes (unless `id` is given), compresses at `level` (0: not at all) and seals a blob, then
   * calls `take` with the sealed bytes, synchronously, while they are valid. `data` is copied
   * before this returns, so the caller may reuse its buffer at once.
   */
  seal<T>(data: Uint8Array, level: number, id: string | undefined, take: (sealed: SealedView) => T): Promise<T> {
    return this.submit({ kind: 'seal', level, id }, data, (r, bytes) => {
      if (r.kind !== 'seal' || !bytes) throw new Error('unexpected worker result');
      return take({ id: r.id, sealed: bytes, uncompressedLength: r.uncompressedLength });
    });
  }

  /**
   * Reads a file smaller than a chunk on a worker, then hashes, compresses and seals it as seal()
   * does, calling `take` with the sealed bytes unless it is empty. Resolves with the bytes read,
   * or 'grown' when the file has grown past `expected` since it was stat'ed (nothing is sealed);
   * rejects with the file's own error (not a HoldfastError) when it cannot be read.
   */
  sealFile<T>(path: Buffer, expected: number, level: number, take: (sealed: SealedView) => T): Promise<{ read: number; saved: T | undefined } | 'grown'> {
    const use = (r: CryptoResult, bytes: Buffer | undefined) => {
      if (r.kind === 'unreadable') throw Object.assign(new Error(r.message), { code: r.code });
      if (r.kind !== 'file') throw new Error('unexpected worker result');
      if (r.read < 0) return 'grown' as const;
      return { read: r.read, saved: bytes && r.id ? take({ id: r.id, sealed: bytes, uncompressedLength: r.uncompressedLength }) : undefined };
    };
    return this.submit({ kind: 'seal-file', path: path.toString('latin1'), level, expected }, undefined, use, expected);
  }

  /** Verifies, decrypts and decompresses a stored blob; checks its plaintext hash when `expectedId` is given. */
  open(stored: Uint8Array, uncompressedLength?: number, expectedId?: string): Promise<Buffer> {
    return this.submit({ kind: 'open', uncompressedLength, expectedId }, stored, (r, bytes) => {
      if (r.kind !== 'open' || !bytes) throw new Error('unexpected worker result');
      return Buffer.from(bytes);
    });
  }

  /**
   * Verifies the stored blobs side by side in the first `length` bytes of `piece` (a piece of a
   * pack, offsets within it) on a worker. The caller gives `piece` up: it moves to the worker
   * without a copy and comes back with the problems found, to be read into again.
   */
  verifyBlobs(piece: ArrayBuffer, length: number, blobs: VerifyBlobsJob['blobs']): Promise<{ problems: string[]; piece: ArrayBuffer }> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('crypto pool is closed'));
    return new Promise((resolve, reject) => {
      const job: CryptoJob = { kind: 'verify-blobs', blobs, offset: 0, length };
      const deliver: Deliver = (r, input) => {
        if (r.kind === 'error') reject(new HoldfastError(r.code as ErrorCode, r.message));
        else if (r.kind !== 'blobs-verified' || !input) reject(new Error('unexpected worker result'));
        else resolve({ problems: [...r.problems], piece: input.buffer as ArrayBuffer });
      };
      this.post([{ job, deliver, reject }], piece, 0, true);
    });
  }

  /** The blob id (SHA-256) of a plaintext, computed on a worker. */
  hash(data: Uint8Array): Promise<string> {
    return this.submit({ kind: 'hash' }, data, (r) => {
      if (r.kind !== 'hash') throw new Error('unexpected worker result');
      return r.id;
    });
  }

  /** Whether the workers take more work now (ready() would resolve at once). */
  get hasRoom(): boolean {
    const filling = Math.max(this.batchBuffer?.byteLength ?? 0, this.batchRoom);
    return this.failure !== undefined || this.totalInFlight() + filling < BATCHES_PER_WORKER * BUFFER_BYTES * this.slots.length;
  }

  /** Resolves when the workers have room for more work; callers await it to bound memory. */
  async ready(): Promise<void> {
    while (!this.hasRoom) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /**
   * Queues a job whose bytes are `data` (none for a small file: its path is in the job); `work` is
   * what it will process (a small file's size).
   */
  private submit<T>(spec: JobSpec, data: Uint8Array | undefined, use: (r: CryptoResult, bytes: Buffer | undefined) => T, work = data?.byteLength ?? 0): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('crypto pool is closed'));
    const job = (data ? { ...spec, offset: 0, length: data.byteLength } : spec) as CryptoJob;
    const room = resultRoom(job);
    if (this.batch.length > 0 && (this.batchWork + work > BATCH_BYTES || this.batchRoom + room > BUFFER_BYTES)) this.flush();
    if (data) {
      // Jobs with bytes stay within BATCH_BYTES together, so they fit one standard buffer; a
      // bigger blob comes first in its own batch, in a buffer of its size.
      this.batchBuffer ??= this.buffers.take(data.byteLength);
      new Uint8Array(this.batchBuffer, this.batchUsed, data.byteLength).set(data);
      (job as { offset: number }).offset = this.batchUsed;
      this.batchUsed += data.byteLength;
    }
    this.batchWork += work;
    this.batchRoom += room;
    return new Promise<T>((resolve, reject) => {
      const deliver: Deliver = (r, bytes) => {
        if (r.kind === 'error') reject(new HoldfastError(r.code as ErrorCode, r.message));
        else {
          try {
            resolve(use(r, bytes));
          } catch (err) {
            reject(err as Error);
          }
        }
      };
      this.batch.push({ job, deliver, reject });
      if (this.batch.length >= BATCH_JOBS || this.batchWork >= BATCH_BYTES) this.flush();
      else this.flushSoonIfIdle();
    });
  }

  /**
   * A partial batch goes out at once only when a worker has nothing to do; while all are busy it
   * keeps filling, so small files travel in few, full batches.
   */
  private flushSoonIfIdle(): void {
    if (this.flushScheduled || this.batch.length === 0 || !this.slots.some((s) => s.batches.size === 0)) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Hands the current batch to the least busy worker. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0) return;
    const pending = this.batch;
    const buffer = this.batchBuffer;
    const room = this.batchRoom;
    this.batch = [];
    this.batchBuffer = undefined;
    this.batchUsed = this.batchWork = this.batchRoom = 0;
    this.post(pending, buffer, room);
  }

  /**
   * Sends jobs whose bytes are in `buffer`, and whose results need `room` bytes, to the least busy
   * worker. `handBack`: the buffer is the caller's, given back with the result of its only job.
   */
  private post(pending: Pending[], buffer: ArrayBuffer | undefined, room: number, handBack = false): void {
    // Least busy first; among equals, the one after the last chosen, so idle workers take turns.
    const n = this.slots.length;
    let slot = this.slots[(this.seq + 1) % n]!;
    for (let i = 1; i < n; i++) {
      const s = this.slots[(this.seq + 1 + i) % n]!;
      if (s.inFlightBytes < slot.inFlightBytes) slot = s;
    }
    const seq = ++this.seq;
    // Memory in flight is what the buffers hold, however little of them a batch fills.
    const bytes = Math.max(buffer?.byteLength ?? 0, room);
    slot.inFlightBytes += bytes;
    slot.batches.set(seq, { pending, bytes, handBack });
    // A busy worker keeps the process alive; an idle one must not (the pool may never be closed).
    if (slot.batches.size === 1) slot.worker.ref();
    const spare = room > 0 ? this.buffers.take(room) : undefined;
    const batch: CryptoBatch = { seq, buffer, jobs: pending.map((p) => p.job), spare };
    const transfer: ArrayBuffer[] = [];
    if (buffer) transfer.push(buffer);
    if (spare) transfer.push(spare);
    slot.worker.postMessage(batch, transfer);
  }

  private onResults(slot: WorkerSlot, msg: CryptoResults): void {
    const b = slot.batches.get(msg.seq);
    if (!b) return;
    slot.batches.delete(msg.seq);
    slot.inFlightBytes -= b.bytes;
    if (slot.batches.size === 0) slot.worker.unref();
    // Every result is used (copied or consumed) synchronously here, so the buffers can be reused.
    const handedBack = b.handBack ? Buffer.from(msg.input!) : undefined;
    b.pending.forEach((p, i) => {
      const result = msg.results[i]!;
      const bytes = result.kind === 'seal' || result.kind === 'open' || (result.kind === 'file' && result.length > 0) ? Buffer.from(msg.buffer, result.offset, result.length) : handedBack;
      p.deliver(result, bytes);
    });
    this.buffers.give(msg.buffer);
    if (!handedBack) this.buffers.give(msg.input);
    this.buffers.give(msg.unused);
    this.flushSoonIfIdle();
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
