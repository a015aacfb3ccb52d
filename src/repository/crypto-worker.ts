// Runs in a worker thread: hashes, compresses and seals blobs, opens and verifies them, or only
// hashes, so the CPU-heavy part of backup and restore runs on every core while the main thread does I/O.

import { parentPort, workerData } from 'node:worker_threads';
import { decompressBlob, loadZstd } from '../format/compression.js';
import { type CryptoKey, open, seal } from '../format/crypto.js';
import { hashId } from '../format/id.js';
import type { CryptoJob, CryptoResult, KeyMaterial } from './crypto-jobs.js';

const material = workerData as KeyMaterial;
const key: CryptoKey = {
  encrypt: Buffer.from(material.encrypt),
  macK: Buffer.from(material.macK),
  macR: Buffer.from(material.macR),
};
const zstd = await loadZstd();

function run(job: CryptoJob): CryptoResult {
  const data = Buffer.from(job.data, job.byteOffset, job.byteLength);
  if (job.kind === 'hash') return { kind: 'hash', id: hashId(data), data };
  if (job.kind === 'seal') {
    const id = job.id ?? hashId(data);
    let payload: Buffer = data;
    let uncompressedLength: number | undefined;
    if (job.level > 0) {
      const compressed = zstd.compress(data, job.level);
      // Incompressible data is stored as it is: smaller, and cheaper to restore.
      if (compressed.length < data.length) {
        payload = compressed;
        uncompressedLength = data.length;
      }
    }
    const sealed = seal(key, payload);
    return { kind: 'seal', id, sealed, uncompressedLength };
  }
  let plain = open(key, data);
  if (job.uncompressedLength !== undefined) plain = decompressBlob(zstd, plain, job.uncompressedLength);
  if (job.expectedId !== undefined && hashId(plain) !== job.expectedId) {
    return { kind: 'error', code: 'ERR_CORRUPT', message: `blob ${job.expectedId}: content does not match its id` };
  }
  return { kind: 'open', plain };
}

parentPort!.on('message', (batch: { seq: number; jobs: CryptoJob[] }) => {
  const results: CryptoResult[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const job of batch.jobs) {
    try {
      const result = run(job);
      results.push(result);
      const out = result.kind === 'seal' ? result.sealed : result.kind === 'open' ? result.plain : result.kind === 'hash' ? result.data : undefined;
      // Fresh buffers from seal/open/decompress own their memory and can move without a copy.
      if (out && out.byteOffset === 0 && out.byteLength === out.buffer.byteLength) transfer.push(out.buffer as ArrayBuffer);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      results.push({ kind: 'error', code: e.code ?? 'ERR_CORRUPT', message: e.message ?? String(err) });
    }
  }
  parentPort!.postMessage({ seq: batch.seq, results }, transfer);
});
