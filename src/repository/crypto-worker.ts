// Runs in a worker thread: hashes, compresses and seals blobs, or opens and verifies them, so the
// CPU-heavy part of backup and restore runs on every core while the main thread does I/O.

import { parentPort, workerData } from 'node:worker_threads';
import { decompressBlob, loadZstd } from '../format/compression.js';
import { type CryptoKey, open, seal } from '../format/crypto.js';
import { hashId } from '../format/id.js';
import type { CryptoBatch, CryptoJob, CryptoResult, CryptoResults, KeyMaterial } from './crypto-jobs.js';

const material = workerData as KeyMaterial;
const key: CryptoKey = {
  encrypt: Buffer.from(material.encrypt),
  macK: Buffer.from(material.macK),
  macR: Buffer.from(material.macR),
};
const zstd = await loadZstd();

/** A result without its place in the results buffer, and the bytes to put there. */
type Outcome = { result: Record<string, unknown> & { kind: CryptoResult['kind'] }; bytes?: Buffer };

function run(job: CryptoJob, data: Buffer): Outcome {
  switch (job.kind) {
    case 'hash':
      return { result: { kind: 'hash', id: hashId(data) } };
    case 'seal': {
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
      return { result: { kind: 'seal', id, uncompressedLength }, bytes: seal(key, payload) };
    }
    case 'open': {
      let plain = open(key, data);
      if (job.uncompressedLength !== undefined) plain = decompressBlob(zstd, plain, job.uncompressedLength);
      if (job.expectedId !== undefined && hashId(plain) !== job.expectedId) {
        return { result: { kind: 'error', code: 'ERR_CORRUPT', message: `blob ${job.expectedId}: content does not match its id` } };
      }
      return { result: { kind: 'open' }, bytes: plain };
    }
  }
}

parentPort!.on('message', (batch: CryptoBatch) => {
  const outcomes: Outcome[] = batch.jobs.map((job) => {
    try {
      return run(job, Buffer.from(batch.buffer, job.offset, job.length));
    } catch (err) {
      const e = err as { code?: string; message?: string };
      return { result: { kind: 'error', code: e.code ?? 'ERR_CORRUPT', message: e.message ?? String(err) } };
    }
  });
  let total = 0;
  for (const o of outcomes) total += o.bytes?.length ?? 0;
  const out = new ArrayBuffer(total);
  const view = new Uint8Array(out);
  let at = 0;
  const results = outcomes.map((o) => {
    if (!o.bytes) return o.result as unknown as CryptoResult;
    view.set(o.bytes, at);
    const placed = { ...o.result, offset: at, length: o.bytes.length } as unknown as CryptoResult;
    at += o.bytes.length;
    return placed;
  });
  const message: CryptoResults = { seq: batch.seq, buffer: out, results };
  parentPort!.postMessage(message, [out]);
});
