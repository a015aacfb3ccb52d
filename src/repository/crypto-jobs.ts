// The messages between the crypto worker pool and its workers. A batch travels as one transferred
// ArrayBuffer holding every job's bytes, and its results come back the same way: one transfer per
// batch instead of one per blob, which matters with tens of thousands of small files.

import { compressBound } from '../format/compression.js';
import { CRYPTO_OVERHEAD } from '../format/crypto.js';

export interface KeyMaterial {
  readonly encrypt: Uint8Array;
  readonly macK: Uint8Array;
  readonly macR: Uint8Array;
}

/** The first message a crypto worker gets. */
export interface KeyMessage {
  readonly key: KeyMaterial;
}

interface JobBytes {
  /** Where the job's bytes are in the batch buffer. */
  readonly offset: number;
  readonly length: number;
}

export interface SealJob extends JobBytes {
  readonly kind: 'seal';
  /** zstd level; 0 stores the plaintext uncompressed. */
  readonly level: number;
  /** The blob id when the caller already hashed the plaintext. */
  readonly id?: string | undefined;
}

/**
 * A source file smaller than a chunk, read, hashed and sealed on the worker. It has no bytes in the
 * batch buffer: a batch of small files needs none, only room for their sealed contents.
 */
export interface SealFileJob {
  readonly kind: 'seal-file';
  /** The file's path, its bytes as a latin1 string (names need not be UTF-8). */
  readonly path: string;
  /** Its size when it was stat'ed; a file grown past it is left to the caller. */
  readonly expected: number;
  readonly level: number;
}

export interface OpenJob extends JobBytes {
  readonly kind: 'open';
  readonly uncompressedLength?: number | undefined;
  /** When set, the plaintext's SHA-256 must equal it. */
  readonly expectedId?: string | undefined;
}

export interface HashJob extends JobBytes {
  readonly kind: 'hash';
}

/** A piece of a pack: every listed blob (offsets within the job's bytes) must verify. */
export interface VerifyBlobsJob extends JobBytes {
  readonly kind: 'verify-blobs';
  readonly blobs: readonly { readonly id: string; readonly offset: number; readonly length: number; readonly uncompressedLength?: number | undefined }[];
}

export type CryptoJob = SealJob | SealFileJob | OpenJob | HashJob | VerifyBlobsJob;

const sealRoom = (length: number, level: number) => (level > 0 ? Math.max(compressBound(length), length) : length) + CRYPTO_OVERHEAD;

/** Room a job's result may need in the results buffer; the pool picks a buffer this big for the worker. */
export function resultRoom(job: CryptoJob): number {
  if (job.kind === 'seal') return sealRoom(job.length, job.level);
  if (job.kind === 'seal-file') return sealRoom(job.expected, job.level);
  if (job.kind === 'open') return Math.max(job.uncompressedLength ?? 0, job.length);
  return 0;
}

export interface CryptoBatch {
  readonly seq: number;
  /** The jobs' bytes; none when no job has any. */
  readonly buffer?: ArrayBuffer | undefined;
  readonly jobs: readonly CryptoJob[];
  /** A spent buffer the worker may write its results into. */
  readonly spare?: ArrayBuffer | undefined;
}

/** A result's bytes (sealed blob or plaintext), if any, are at offset/length in the results buffer. */
export type CryptoResult =
  | { readonly kind: 'seal'; readonly id: string; readonly offset: number; readonly length: number; readonly uncompressedLength?: number | undefined }
  | { readonly kind: 'open'; readonly offset: number; readonly length: number }
  /**
   * A small file's outcome: `read` bytes, sealed at offset/length unless it was empty, or -1 when
   * it had grown past the expected size (nothing sealed).
   */
  | { readonly kind: 'file'; readonly read: number; readonly id?: string; readonly offset: number; readonly length: number; readonly uncompressedLength?: number | undefined }
  /** The source file could not be read: a warning for that file, not a failure of the run. */
  | { readonly kind: 'unreadable'; readonly code: string; readonly message: string }
  | { readonly kind: 'hash'; readonly id: string }
  | { readonly kind: 'blobs-verified'; readonly problems: readonly string[] }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

export interface CryptoResults {
  readonly seq: number;
  readonly buffer: ArrayBuffer;
  /** The batch's input buffer, handed back for reuse. */
  readonly input?: ArrayBuffer | undefined;
  /** The spare buffer, when it was too small to use. */
  unused?: ArrayBuffer;
  readonly results: readonly CryptoResult[];
}
