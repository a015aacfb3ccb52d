// The messages between the crypto worker pool and its workers.

export interface KeyMaterial {
  readonly encrypt: Uint8Array;
  readonly macK: Uint8Array;
  readonly macR: Uint8Array;
}

interface JobData {
  readonly data: ArrayBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface SealJob extends JobData {
  readonly kind: 'seal';
  /** zstd level; 0 stores the plaintext uncompressed. */
  readonly level: number;
  /** The blob id when the caller already hashed the plaintext. */
  readonly id?: string | undefined;
}

export interface OpenJob extends JobData {
  readonly kind: 'open';
  readonly uncompressedLength?: number | undefined;
  /** When set, the plaintext's SHA-256 must equal it. */
  readonly expectedId?: string | undefined;
}

/** SHA-256 only: the data comes back with the id, so unchanged image blocks cost no compression. */
export interface HashJob extends JobData {
  readonly kind: 'hash';
}

export type CryptoJob = SealJob | OpenJob | HashJob;

export type CryptoResult =
  | { readonly kind: 'seal'; readonly id: string; readonly sealed: Buffer; readonly uncompressedLength?: number | undefined }
  | { readonly kind: 'open'; readonly plain: Buffer }
  | { readonly kind: 'hash'; readonly id: string; readonly data: Buffer }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };
