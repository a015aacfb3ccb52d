// Runs in a worker thread: hashes, compresses and seals blobs (reading small source files itself),
// or opens and verifies them, so the CPU-heavy part of backup and restore runs on every core while
// the main thread walks and does the rest of the I/O.

import { parentPort } from 'node:worker_threads';
import { MIN_SIZE } from '../chunker/params.js';
import { BlobDecompressor, compressBound, decompressBlob, loadZstd } from '../format/compression.js';
import { CRYPTO_OVERHEAD, type CryptoKey, IV_SIZE, open, sealInPlace } from '../format/crypto.js';
import { hashId } from '../format/id.js';
import { garbageBudget } from './collect-garbage.js';
import { type CryptoBatch, type CryptoJob, type CryptoResult, type CryptoResults, type KeyMessage, resultRoom, type SealFileJob } from './crypto-jobs.js';
import { readSmallFileSync } from './small-file.js';

/** The repository's key: the first message, since a worker may be started before it is derived. */
let key: CryptoKey;
const zstd = await loadZstd();
/**
 * Each blob leaves a dead buffer behind (the cipher's output), dropped at once: a young collection
 * frees them. A full one every 16 MiB cost a first backup of the Linux tree about 2 CPU-seconds
 * for the same peak memory.
 */
const processed = garbageBudget(16 * 1024 * 1024, 'young');
/** Verifying leaves the decrypted blobs behind, all short-lived: they go often. */
const verified = garbageBudget(2 * 1024 * 1024, 'young');

/** Bytes a verifying job leaves as garbage: it decrypts into new buffers. */
const garbageOf = (job: CryptoJob): number => (job.kind === 'verify-blobs' ? job.length : 0);

/**
 * Seals a blob straight into `out` at `at`: compressed in place when that makes it smaller, else
 * copied, then encrypted over itself. Returns the sealed length and, if compressed, the plaintext length.
 */
function sealInto(out: Buffer, at: number, data: Buffer, level: number): { length: number; uncompressedLength?: number } {
  const region = out.subarray(at);
  let payload = data.length;
  let uncompressedLength: number | undefined;
  const written = level > 0 ? zstd.compressInto(region.subarray(IV_SIZE, IV_SIZE + compressBound(data.length)), data, level) : -1;
  // Incompressible data is stored as it is: smaller, and cheaper to restore.
  if (written >= 0 && written < data.length) {
    payload = written;
    uncompressedLength = data.length;
  } else {
    data.copy(region, IV_SIZE);
  }
  sealInPlace(key, region, payload);
  return { length: payload + CRYPTO_OVERHEAD, uncompressedLength };
}

/** Where small files are read, one at a time: they are smaller than a chunk's minimum. */
let fileBuffer: Buffer | undefined;

function sealFile(job: SealFileJob, out: Buffer, at: number): CryptoResult {
  if (!fileBuffer || fileBuffer.length <= job.expected) fileBuffer = Buffer.allocUnsafeSlow(Math.max(job.expected, MIN_SIZE) + 1);
  let data: Buffer | undefined;
  try {
    data = readSmallFileSync(Buffer.from(job.path, 'latin1'), job.expected, fileBuffer);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { kind: 'unreadable', code: e.code ?? 'EIO', message: e.message };
  }
  if (!data) return { kind: 'file', read: -1, offset: at, length: 0 };
  if (data.length === 0) return { kind: 'file', read: 0, offset: at, length: 0 };
  const id = hashId(data);
  const { length, uncompressedLength } = sealInto(out, at, data, job.level);
  return { kind: 'file', read: data.length, id, offset: at, length, uncompressedLength };
}

/** Verifying needs each plaintext only long enough to hash it: one buffer holds them in turn. */
const decompressor = new BlobDecompressor(zstd);

/** Why a stored blob does not verify (MAC, decompression, plaintext hash), or undefined. */
function verifyBlob(stored: Buffer, uncompressedLength: number | undefined, id: string): string | undefined {
  try {
    let plain = open(key, stored);
    if (uncompressedLength !== undefined) plain = decompressor.decompress(plain, uncompressedLength);
    return hashId(plain) === id ? undefined : `blob ${id}: content does not match its id`;
  } catch (err) {
    return `blob ${id}: ${(err as Error).message}`;
  }
}

function run(job: CryptoJob, input: ArrayBuffer | undefined, out: Buffer, at: number): CryptoResult {
  if (job.kind === 'seal-file') return sealFile(job, out, at);
  const data = Buffer.from(input!, job.offset, job.length);
  switch (job.kind) {
    case 'hash':
      return { kind: 'hash', id: hashId(data) };
    case 'seal': {
      const id = job.id ?? hashId(data);
      const { length, uncompressedLength } = sealInto(out, at, data, job.level);
      return { kind: 'seal', id, offset: at, length, uncompressedLength };
    }
    case 'verify-blobs': {
      const problems: string[] = [];
      for (const b of job.blobs) {
        const problem = verifyBlob(data.subarray(b.offset, b.offset + b.length), b.uncompressedLength, b.id);
        if (problem) problems.push(problem);
      }
      return { kind: 'blobs-verified', problems };
    }
    case 'open': {
      let plain = open(key, data);
      if (job.uncompressedLength !== undefined) plain = decompressBlob(zstd, plain, job.uncompressedLength);
      if (job.expectedId !== undefined && hashId(plain) !== job.expectedId) {
        return { kind: 'error', code: 'ERR_CORRUPT', message: `blob ${job.expectedId}: content does not match its id` };
      }
      plain.copy(out, at);
      return { kind: 'open', offset: at, length: plain.length };
    }
  }
}

parentPort!.on('message', (message: CryptoBatch | KeyMessage) => {
  if ('key' in message) {
    key = { encrypt: Buffer.from(message.key.encrypt), macK: Buffer.from(message.key.macK), macR: Buffer.from(message.key.macR) };
    return;
  }
  const batch = message;
  let room = 0;
  let garbage = 0;
  for (const job of batch.jobs) {
    room += resultRoom(job);
    garbage += garbageOf(job);
  }
  // The main thread sends back spent result buffers so that batches do not allocate new ones.
  const outBuffer = batch.spare && batch.spare.byteLength >= room ? batch.spare : new ArrayBuffer(room);
  const out = Buffer.from(outBuffer);
  let at = 0;
  const results = batch.jobs.map((job): CryptoResult => {
    try {
      const r = run(job, batch.buffer, out, at);
      if (r.kind === 'seal' || r.kind === 'open' || r.kind === 'file') at += r.length;
      return r;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      return { kind: 'error', code: e.code ?? 'ERR_CORRUPT', message: e.message ?? String(err) };
    }
  });
  const reply: CryptoResults = { seq: batch.seq, buffer: outBuffer, input: batch.buffer, results };
  const transfer = batch.buffer ? [outBuffer, batch.buffer] : [outBuffer];
  if (batch.spare && batch.spare !== outBuffer) {
    transfer.push(batch.spare);
    reply.unused = batch.spare;
  }
  parentPort!.postMessage(reply, transfer);
  processed(room);
  verified(garbage);
});
