// Pack files being filled: blobs are copied into small staging buffers that a worker writes to a
// temp file and hashes, so a 16 MiB (or 128 MiB) pack never sits in memory.

import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { HoldfastError } from '../errors.js';
import { processExists } from './process-alive.js';
import type { PackFileReply, PackFileRequest } from './pack-file-messages.js';
import { startWorker } from './start-worker.js';

const STAGE_BYTES = 1024 * 1024;
const TEMP_PREFIX = '.holdfast-pack-';


/**
 * Removes temp packs that a killed run on this host left behind. A pack is reused only once it
 * is stored; a temp file of a dead process is never finished, so it is safe to delete.
 */
async function removeOrphanedTempFiles(dir: string): Promise<void> {
  const host = hostname();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = /^\.holdfast-pack-(.+)-(\d+)-[0-9a-f]+\.tmp$/.exec(name);
    if (m && m[1] === host && !processExists(Number(m[2]))) await rm(join(dir, name), { force: true }).catch(() => undefined);
  }
}
/** Staged bytes on their way to disk before producers wait. */
const MAX_QUEUED = 8 * STAGE_BYTES;

export interface WrittenPack {
  readonly id: string;
  readonly size: number;
  /** The temp file holding the pack; the caller stores it and removes it. */
  readonly path: string;
}

export class PackFiles {
  private worker: Worker | undefined;
  private nextPack = 0;
  private queued = 0;
  private readonly free: ArrayBuffer[] = [];
  private readonly finishing = new Map<number, { resolve: (w: WrittenPack) => void; reject: (e: Error) => void; path: string }>();
  private waiters: (() => void)[] = [];
  private onAbandoned: (() => void) | undefined;

  constructor(private readonly tempDir: string) {}

  create(): PackFile {
    if (this.nextPack === 0) void removeOrphanedTempFiles(this.tempDir);
    const pack = this.nextPack++;
    const path = join(this.tempDir, `${TEMP_PREFIX}${hostname()}-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    this.post({ type: 'open', pack, path });
    return new PackFile(this, pack, path);
  }

  /** Whether the writer takes more bytes now (ready() would resolve at once). */
  get hasRoom(): boolean {
    return this.queued < MAX_QUEUED;
  }

  /** Resolves when the writer has caught up enough to take more bytes. */
  async ready(): Promise<void> {
    while (this.queued >= MAX_QUEUED) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  stage(): ArrayBuffer {
    return this.free.pop() ?? new ArrayBuffer(STAGE_BYTES);
  }

  write(pack: number, buffer: ArrayBuffer, length: number): void {
    this.queued += buffer.byteLength;
    this.post({ type: 'write', pack, buffer, length }, [buffer]);
  }

  finish(pack: number, path: string): Promise<WrittenPack> {
    return new Promise((resolve, reject) => {
      this.finishing.set(pack, { resolve, reject, path });
      this.post({ type: 'finish', pack });
    });
  }

  /**
   * Stops the writer. A run that ends early (an error such as a full disk, Ctrl-C) has packs
   * still being filled: their temp files are closed and removed first, so they do not keep the
   * space the user must free to go on.
   */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    await new Promise<void>((resolve) => {
      this.onAbandoned = resolve;
      worker.once('exit', () => resolve());
      worker.ref();
      worker.postMessage({ type: 'abandon' } satisfies PackFileRequest);
    });
    this.onAbandoned = undefined;
    await worker.terminate();
  }

  private post(message: PackFileRequest, transfer: ArrayBuffer[] = []): void {
    if (!this.worker) {
      const worker = startWorker(import.meta.url, 'pack-file-worker');
      worker.on('message', (m: PackFileReply) => this.onReply(m));
      worker.on('error', (err) => {
        for (const f of this.finishing.values()) f.reject(new HoldfastError('ERR_IO', `pack writer failed: ${err.message}`));
        this.finishing.clear();
      });
      worker.once('exit', () => {
        if (this.worker === worker) this.worker = undefined;
      });
      this.worker = worker;
    }
    // Busy with a pack, the worker keeps the process alive; idle, it must not.
    this.worker.ref();
    this.worker.postMessage(message, transfer);
  }

  private onReply(m: PackFileReply): void {
    if (m.type === 'abandoned') {
      this.onAbandoned?.();
      return;
    }
    if (m.type === 'written') {
      this.queued -= m.buffer.byteLength;
      // Keep every stage buffer that comes back: steady state then allocates none.
      if (this.free.length < MAX_QUEUED / STAGE_BYTES + 4) this.free.push(m.buffer);
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
      return;
    }
    const f = this.finishing.get(m.pack);
    if (!f) return;
    this.finishing.delete(m.pack);
    if (this.finishing.size === 0) this.worker?.unref();
    if (m.type === 'failed') {
      const full = m.message.includes('no space left on device');
      f.reject(new HoldfastError(full ? 'ERR_NO_SPACE' : 'ERR_IO', m.message));
    } else {
      f.resolve({ id: m.id, size: m.size, path: f.path });
    }
  }
}

export class PackFile {
  private buffer: ArrayBuffer | undefined;
  private used = 0;
  private written = 0;

  constructor(
    private readonly files: PackFiles,
    private readonly pack: number,
    private readonly path: string,
  ) {}

  /** Bytes appended so far. */
  get size(): number {
    return this.written + this.used;
  }

  /** Copies `data` into the pack; it may be reused as soon as this returns. */
  append(data: Uint8Array): void {
    let at = 0;
    while (at < data.length) {
      this.buffer ??= this.files.stage();
      const n = Math.min(data.length - at, this.buffer.byteLength - this.used);
      new Uint8Array(this.buffer, this.used, n).set(data.subarray(at, at + n));
      this.used += n;
      at += n;
      if (this.used === this.buffer.byteLength) this.flush();
    }
  }

  /** Writes the rest, fsyncs and closes the temp file; resolves with the pack's id and size. */
  finish(): Promise<WrittenPack> {
    this.flush();
    return this.files.finish(this.pack, this.path);
  }

  private flush(): void {
    if (!this.buffer || this.used === 0) return;
    this.files.write(this.pack, this.buffer, this.used);
    this.written += this.used;
    this.buffer = undefined;
    this.used = 0;
  }
}
