// A restore's writer thread: verifies each blob of a pack range (MAC, decryption, decompression,
// SHA-256) and writes it into its files with synchronous calls, small files start to finish.

import { chmodSync, closeSync, fchmodSync, fchownSync, ftruncateSync, futimesSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { messageOf } from '../errors.js';
import { BlobDecompressor, loadZstd } from '../format/compression.js';
import { type CryptoKey, openInPlace } from '../format/crypto.js';
import { hashId } from '../format/id.js';
import { garbageBudget } from '../repository/collect-garbage.js';
import type { KeyMaterial } from '../repository/crypto-jobs.js';
import { nonZeroRuns } from './zero-blocks.js';
import { decodeJob, MAX_RANGE, rangeLength, RESULT_COMPLETED, RESULT_FIELDS, RESULT_OPENED, RESULT_TIMES_SET, type RangeJob, type RangeResult, type RangeSource, type WorkerFile } from './write-jobs.js';

const material = workerData as KeyMaterial;
const key: CryptoKey = { encrypt: Buffer.from(material.encrypt), macK: Buffer.from(material.macK), macR: Buffer.from(material.macR) };
const zstd = await loadZstd();
/**
 * Decrypting leaves dead buffers behind (the cipher's output, a piece at a time). V8 frees them
 * when it feels memory pressure, by which time glibc had given each writer thread an arena of 30
 * MiB and more: a young collection every 16 MiB of blobs frees them while they are few.
 */
const decrypted = garbageBudget(16 * 1024 * 1024, 'young');

/** A blob is written out before the next one is opened: one buffer holds each plaintext in turn. */
const decompressor = new BlobDecompressor(zstd);

/**
 * The verified plaintext of a sealed blob, or an exception saying why it is not. A compressed
 * blob's plaintext is valid until the next call.
 */
function openBlob(sealed: Buffer, uncompressedLength: number | undefined, id: string): Buffer {
  // Over its own ciphertext: the range's bytes are this thread's, and each blob is opened once.
  let plain = openInPlace(key, sealed);
  if (uncompressedLength !== undefined) plain = decompressor.decompress(plain, uncompressedLength);
  if (hashId(plain) !== id) throw new Error(`blob ${id}: content does not match its id`);
  return plain;
}

/**
 * Where this thread reads pack ranges of a local repository, reused for every range: read on the
 * main thread, each range was a buffer of its own, and glibc kept tens of MiB of them in its arena.
 */
let rangeBuffer = Buffer.alloc(0);

/** The range's bytes: moved here, or read from the pack's descriptor; a message when they cannot be read whole. */
function rangeBytes(source: RangeSource): Buffer | string {
  if (source instanceof ArrayBuffer) return Buffer.from(source);
  // Only a range of a single larger blob exceeds MAX_RANGE: one buffer serves nearly all of them.
  if (rangeBuffer.length < source.length) rangeBuffer = Buffer.allocUnsafeSlow(Math.max(source.length, MAX_RANGE));
  let done = 0;
  try {
    while (done < source.length) {
      const n = readSync(source.fd, rangeBuffer, done, source.length - done, source.offset + done);
      if (n === 0) return `${source.name} is truncated: wanted ${source.length} bytes at ${source.offset}, got ${done}`;
      done += n;
    }
  } catch (err) {
    return `cannot read ${source.name}: ${messageOf(err)}`;
  }
  return rangeBuffer.subarray(0, source.length);
}

function writeAll(fd: number, data: Buffer, start: number, end: number, position: number): void {
  while (start < end) {
    const n = writeSync(fd, data, start, end - start, position);
    start += n;
    position += n;
  }
}

function chown(fd: number, [uid, gid, bestEffort]: readonly [number, number, boolean]): void {
  try {
    fchownSync(fd, uid, gid);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!bestEffort || (code !== 'EPERM' && code !== 'EINVAL')) throw err;
  }
}

class FileState {
  fd: number | undefined;
  end = 0;
  error: string | undefined;
  metadataError: string | undefined;
  opened = false;
  readonly failedBlobs: number[] = [];

  constructor(readonly spec: WorkerFile) {
    this.fd = spec.fd;
  }

  private descriptor(): number {
    if (this.fd !== undefined) return this.fd;
    const own = this.spec.own!;
    const path = Buffer.from(own.path, 'latin1');
    try {
      this.fd = openSync(path, own.flags, own.createMode);
    } catch (err) {
      // A read-only file its user owns: make it writable; its mode is set at the end anyway.
      if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
      chmodSync(path, 0o600);
      this.fd = openSync(path, own.flags, own.createMode);
    }
    this.opened = true;
    return this.fd;
  }

  write(data: Buffer, offset: number): void {
    if (this.error !== undefined) return;
    try {
      const fd = this.descriptor();
      if (this.spec.sparse) {
        for (const [start, end] of nonZeroRuns(data, offset)) {
          writeAll(fd, data, start, end, offset + start);
          this.end = Math.max(this.end, offset + end);
        }
      } else {
        writeAll(fd, data, 0, data.length, offset);
        this.end = Math.max(this.end, offset + data.length);
      }
    } catch (err) {
      this.error = messageOf(err);
    }
  }

  /**
   * Completes an owned file: size, owner, mode, times, close; or closes and removes it when
   * writing failed. Returns the result flags; a metadata failure is kept in `metadataError`.
   */
  finish(): number {
    const own = this.spec.own;
    let flags = this.opened ? RESULT_OPENED : 0;
    if (!own || this.fd === undefined) return flags;
    let completed = false;
    if (this.error === undefined && this.failedBlobs.length === 0) {
      try {
        if (own.truncate || this.end !== own.size) ftruncateSync(this.fd, own.size);
        completed = true;
      } catch (err) {
        this.error = messageOf(err);
      }
    }
    if (completed) {
      try {
        if (own.chown) chown(this.fd, own.chown);
        if (own.chmod !== undefined) fchmodSync(this.fd, own.chmod);
        if (own.times) {
          futimesSync(this.fd, own.times[0], own.times[1]);
          flags |= RESULT_TIMES_SET;
        }
      } catch (err) {
        this.metadataError = messageOf(err);
      }
    }
    try {
      closeSync(this.fd);
    } catch (err) {
      this.error ??= messageOf(err);
      completed = false;
    }
    if (this.error !== undefined) {
      try {
        unlinkSync(Buffer.from(own.path, 'latin1'));
      } catch {
        // Already gone: nothing half-written is left either way.
      }
    }
    return completed ? flags | RESULT_COMPLETED : flags;
  }
}

function run(job: RangeJob): RangeResult {
  // When the range cannot be read, every blob fails with why, and the caller recovers them.
  const data = rangeBytes(job.data);
  const decoded = decodeJob(job);
  const files = decoded.files.map((f) => new FileState(f));
  const numbers = new Float64Array(files.length * RESULT_FIELDS);
  // A range of small blobs can hold tens of thousands of files: each is completed (and closed) as
  // soon as its last blob in the range is written, not at the end, or they would all be open at once.
  const usesLeft = new Uint32Array(files.length);
  for (const blob of decoded.blobs) for (let t = 0; t < blob.targets.length; t += 2) usesLeft[blob.targets[t]!]!++;
  const finished = new Uint8Array(files.length);
  const finish = (i: number) => {
    numbers[i * RESULT_FIELDS + 1] = files[i]!.finish();
    finished[i] = 1;
  };
  const blobErrors: { blob: number; message: string }[] = [];
  decoded.blobs.forEach((blob, index) => {
    let plain: Buffer | undefined;
    if (typeof data === 'string') {
      blobErrors.push({ blob: index, message: data });
    } else {
      try {
        plain = openBlob(data.subarray(blob.offset, blob.offset + blob.length), blob.uncompressedLength, blob.id);
      } catch (err) {
        blobErrors.push({ blob: index, message: messageOf(err) });
      }
    }
    for (let t = 0; t < blob.targets.length; t += 2) {
      const i = blob.targets[t]!;
      const file = files[i]!;
      if (plain) file.write(plain, blob.targets[t + 1]!);
      else file.failedBlobs.push(index);
      if (--usesLeft[i]! === 0) finish(i);
    }
  });
  const errors: { file: number; message: string }[] = [];
  const metadataErrors: { file: number; message: string }[] = [];
  const failedBlobs: { file: number; blobs: number[] }[] = [];
  files.forEach((f, i) => {
    // Files with nothing to write in this range.
    if (!finished[i]) finish(i);
    numbers[i * RESULT_FIELDS] = f.end;
    if (f.error !== undefined) errors.push({ file: i, message: f.error });
    if (f.metadataError !== undefined) metadataErrors.push({ file: i, message: f.metadataError });
    if (f.failedBlobs.length > 0) failedBlobs.push({ file: i, blobs: f.failedBlobs });
  });
  return { seq: job.seq, numbers, errors, metadataErrors, failedBlobs, blobErrors };
}

parentPort!.on('message', (job: RangeJob) => {
  const result = run(job);
  decrypted(rangeLength(job.data));
  parentPort!.postMessage(result, [result.numbers.buffer as ArrayBuffer]);
});
