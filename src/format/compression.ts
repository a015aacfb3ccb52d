// zstd for repository version 2: native libzstd (zstd-napi) when it loads, otherwise the wasm
// build, chosen once per process. Also the version byte of compressed unpacked files.

import { createRequire } from 'node:module';
import { corrupt, HoldfastError } from '../errors.js';

export interface Zstd {
  readonly kind: 'native' | 'wasm';
  compress(data: Uint8Array, level: number): Buffer;
  decompress(data: Uint8Array): Buffer;
  /** Compresses into `target`; returns the bytes written, or -1 when they do not fit. */
  compressInto(target: Uint8Array, data: Uint8Array, level: number): number;
  /** Decompresses a frame into `target` (big enough for it); returns the bytes written. */
  decompressInto(target: Uint8Array, data: Uint8Array): number;
  /**
   * Compresses `pieces`, `length` bytes in all, as one frame that records its size (readers such
   * as the wasm build need it), holding one piece and the compressed bytes at a time. A piece
   * is read before the next is asked for: they may share one buffer.
   */
  compressPieces(pieces: Iterable<Uint8Array>, length: number, level: number): Buffer;
}

/** The most bytes zstd can produce for `n` input bytes (ZSTD_COMPRESSBOUND). */
export function compressBound(n: number): number {
  return n + (n >>> 8) + (n < 128 * 1024 ? (128 * 1024 - n) >>> 11 : 0);
}

/** `auto` matches restic's default speed; levels are libzstd levels. */
export const compressionLevels = { fastest: 1, auto: 3, better: 7, max: 19 } as const;
export type CompressionMode = keyof typeof compressionLevels | 'off';

const require = createRequire(import.meta.url);

/** libzstd through zstd-napi; throws where it is not installed. Exported for tests, as is loadWasmZstd. */
export function loadNativeZstd(): Zstd {
  const zstd = require('zstd-napi') as typeof import('zstd-napi');
  const binding = require('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js');
  const contexts = new Map<number, InstanceType<typeof binding.CCtx>>();
  const decompressor = new zstd.Decompressor();
  const dctx = new binding.DCtx();
  const contextFor = (level: number) => {
    let c = contexts.get(level);
    if (!c) {
      c = new binding.CCtx();
      c.setParameter(binding.CParameter.compressionLevel, level);
      // restic writes frames without a checksum: the MAC and the blob hash already cover the data.
      c.setParameter(binding.CParameter.checksumFlag, 0);
      contexts.set(level, c);
    }
    return c;
  };
  return {
    kind: 'native',
    compress(data, level) {
      const out = Buffer.allocUnsafe(compressBound(data.length));
      return out.subarray(0, contextFor(level).compress2(out, data));
    },
    compressInto(target, data, level) {
      if (target.length < compressBound(data.length)) return -1;
      return contextFor(level).compress2(target, data);
    },
    decompress: (data) => decompressor.decompress(data),
    decompressInto: (target, data) => dctx.decompress(target, data),
    compressPieces(pieces, length, level) {
      const context = contextFor(level);
      // A frame left unfinished by an exception must not be continued.
      context.reset(binding.ResetDirective.sessionOnly);
      context.setPledgedSrcSize(length);
      const done: Buffer[] = [];
      let out = Buffer.allocUnsafe(STREAM_OUT_BYTES);
      let used = 0;
      const feed = (input: Uint8Array, end: boolean) => {
        const directive = end ? binding.EndDirective.end : binding.EndDirective.continue;
        for (;;) {
          const [left, produced, consumed] = context.compressStream2(out.subarray(used), input, directive);
          used += produced;
          input = input.subarray(consumed);
          if (used === out.length) {
            done.push(out);
            out = Buffer.allocUnsafe(STREAM_OUT_BYTES);
            used = 0;
          }
          if (input.length === 0 && (!end || left === 0)) return;
        }
      };
      for (const piece of pieces) feed(piece, false);
      feed(new Uint8Array(0), true);
      done.push(out.subarray(0, used));
      return Buffer.concat(done);
    },
  };
}

/** The compressed bytes gathered at once by the native compressPieces. */
const STREAM_OUT_BYTES = 256 * 1024;

export async function loadWasmZstd(): Promise<Zstd> {
  const wasm = (await import('@bokuweb/zstd-wasm')) as typeof import('@bokuweb/zstd-wasm');
  await wasm.init();
  return {
    kind: 'wasm',
    compress: (data, level) => Buffer.from(wasm.compress(data, level)),
    compressInto(target, data, level) {
      const out = wasm.compress(data, level);
      if (out.length > target.length) return -1;
      target.set(out);
      return out.length;
    },
    decompress: (data) => Buffer.from(wasm.decompress(data)),
    decompressInto(target, data) {
      const out = wasm.decompress(data);
      target.set(out);
      return out.length;
    },
    // The wasm build has no streaming interface: the pieces are joined.
    compressPieces: (pieces, _length, level) => Buffer.from(wasm.compress(Buffer.concat(Array.from(pieces, (p) => Buffer.from(p))), level)),
  };
}

let loaded: Promise<Zstd> | undefined;

/**
 * The process-wide zstd. HOLDFAST_ZSTD=wasm forces the fallback.
 */
export function loadZstd(): Promise<Zstd> {
  loaded ??= (async () => {
    if (process.env.HOLDFAST_ZSTD !== 'wasm') {
      try {
        return loadNativeZstd();
      } catch {
        // No compiler at install time, or a foreign platform: the wasm build always works.
      }
    }
    return loadWasmZstd();
  })();
  return loaded;
}

const ZSTD_PREFIX = 0x02;

/** Plaintext of an index, snapshot or lock file: raw JSON in v1, version byte + zstd in v2. */
export function compressUnpacked(zstd: Zstd, json: Buffer, repoVersion: 1 | 2, level: number): Buffer {
  if (repoVersion < 2) return json;
  return withVersionByte(zstd.compress(json, level));
}

/** A version 2 plaintext: the zstd version byte, then the frame. */
function withVersionByte(frame: Buffer): Buffer {
  return Buffer.concat([Buffer.of(ZSTD_PREFIX), frame]);
}

/**
 * compressUnpacked for JSON made in pieces (`text` is called twice: for the length the frame
 * records, then for the bytes), so that its whole text is never in memory. Each piece is
 * encoded into one reused buffer: bytes of their own would wait for a collection to be freed.
 */
export function compressUnpackedText(zstd: Zstd, text: () => Iterable<string>, repoVersion: 1 | 2, level: number): Buffer {
  if (repoVersion < 2) return Buffer.from([...text()].join(''));
  let length = 0;
  for (const piece of text()) length += Buffer.byteLength(piece);
  let scratch = Buffer.allocUnsafe(0);
  function* bytes(): Generator<Buffer> {
    for (const piece of text()) {
      const n = Buffer.byteLength(piece);
      if (n > scratch.length) scratch = Buffer.allocUnsafe(Math.max(n, scratch.length * 2));
      scratch.write(piece);
      yield scratch.subarray(0, n);
    }
  }
  return withVersionByte(zstd.compressPieces(bytes(), length, level));
}

export function decompressUnpacked(zstd: Zstd, plain: Buffer): Buffer {
  const first = plain[0];
  if (first === 0x7b || first === 0x5b) return plain; // '{' or '[': uncompressed JSON
  if (first === ZSTD_PREFIX) {
    try {
      return zstd.decompress(plain.subarray(1));
    } catch (err) {
      throw corrupt(`zstd decompression failed: ${(err as Error).message}`);
    }
  }
  throw new HoldfastError('ERR_CORRUPT', `not supported encoding format ${first ?? 'empty'}`);
}

export function decompressBlob(zstd: Zstd, data: Buffer, expectedLength: number): Buffer {
  let out: Buffer;
  try {
    out = zstd.decompress(data);
  } catch (err) {
    throw corrupt(`zstd decompression failed: ${(err as Error).message}`);
  }
  if (out.length !== expectedLength) {
    throw corrupt(`decompressed ${out.length} bytes, the index says ${expectedLength}`);
  }
  return out;
}

/**
 * Decompresses blobs into one buffer, reused: for worker threads that hash or write each plaintext
 * before they open the next, and would otherwise make a buffer per blob.
 */
export class BlobDecompressor {
  private scratch = Buffer.alloc(0);

  constructor(private readonly zstd: Zstd) {}

  /** As decompressBlob, but the plaintext is valid only until the next call. */
  decompress(data: Uint8Array, expectedLength: number): Buffer {
    if (this.scratch.length < expectedLength) this.scratch = Buffer.allocUnsafeSlow(Math.max(expectedLength, 1024 * 1024));
    let n: number;
    try {
      n = this.zstd.decompressInto(this.scratch, data);
    } catch (err) {
      throw corrupt(`zstd decompression failed: ${(err as Error).message}`);
    }
    if (n !== expectedLength) throw corrupt(`decompressed ${n} bytes, the index says ${expectedLength}`);
    return this.scratch.subarray(0, n);
  }
}
