// Pack files: encrypted blobs back to back, then the encrypted header listing them, then the
// header's length as uint32 little-endian. This file encodes and decodes the header and trailer.

import { corrupt } from '../errors.js';
import { CRYPTO_OVERHEAD } from './crypto.js';
import { ID_SIZE } from './id.js';

export type BlobType = 'data' | 'tree';

/** A blob's place in a pack. `length` counts the stored (encrypted) bytes. */
export interface PackedBlob {
  readonly type: BlobType;
  /** Hex SHA-256 of the blob's plaintext (after decompression). */
  readonly id: string;
  readonly offset: number;
  readonly length: number;
  /** Set only for compressed blobs: the plaintext length. */
  readonly uncompressedLength?: number | undefined;
}

const PLAIN_ENTRY_SIZE = 1 + 4 + ID_SIZE;
const COMPRESSED_ENTRY_SIZE = 1 + 4 + 4 + ID_SIZE;
/** restic refuses headers above 16 MiB. */
export const MAX_HEADER_SIZE = 16 * 1024 * 1024;
/** The smallest valid pack: one uncompressed entry, the header's crypto overhead, the length. */
export const MIN_PACK_SIZE = PLAIN_ENTRY_SIZE + CRYPTO_OVERHEAD + 4;
export const TRAILER_SIZE = 4;
/** restic reads this many bytes from the end in one request, enough for small headers. */
export const EAGER_TRAILER_READ = 15 * COMPRESSED_ENTRY_SIZE + CRYPTO_OVERHEAD + TRAILER_SIZE;

export function headerEntrySize(blob: Pick<PackedBlob, 'uncompressedLength'>): number {
  return blob.uncompressedLength === undefined ? PLAIN_ENTRY_SIZE : COMPRESSED_ENTRY_SIZE;
}

/** The size a pack must have, computed from its blobs, as restic's check computes it. */
export function packSizeOf(blobs: readonly Pick<PackedBlob, 'length' | 'uncompressedLength'>[]): number {
  let size = CRYPTO_OVERHEAD + TRAILER_SIZE;
  for (const b of blobs) size += b.length + headerEntrySize(b);
  return size;
}

function typeByte(b: PackedBlob): number {
  const compressed = b.uncompressedLength !== undefined;
  return (b.type === 'tree' ? 1 : 0) + (compressed ? 2 : 0);
}

/** The plaintext header: one entry per blob, in pack order. */
export function encodePackHeader(blobs: readonly PackedBlob[]): Buffer {
  let size = 0;
  for (const b of blobs) size += headerEntrySize(b);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const b of blobs) {
    out[pos] = typeByte(b);
    out.writeUInt32LE(b.length, pos + 1);
    pos += 5;
    if (b.uncompressedLength !== undefined) {
      out.writeUInt32LE(b.uncompressedLength, pos);
      pos += 4;
    }
    pos += out.write(b.id, pos, 'hex');
  }
  return out;
}

/** Parses a decrypted header. Offsets are implicit: each blob follows the previous one. */
export function decodePackHeader(plain: Buffer, repoVersion: 1 | 2): PackedBlob[] {
  const blobs: PackedBlob[] = [];
  let pos = 0;
  let offset = 0;
  while (pos < plain.length) {
    const t = plain[pos]!;
    if (t > 3) throw corrupt(`pack header: invalid blob type ${t} at byte ${pos}`);
    const compressed = t >= 2;
    if (compressed && repoVersion < 2) throw corrupt('pack header: compressed blob in a version 1 repository');
    const entrySize = compressed ? COMPRESSED_ENTRY_SIZE : PLAIN_ENTRY_SIZE;
    if (pos + entrySize > plain.length) throw corrupt('pack header: truncated entry');
    const length = plain.readUInt32LE(pos + 1);
    if (length < CRYPTO_OVERHEAD) throw corrupt(`pack header: blob length ${length} is too small`);
    const uncompressedLength = compressed ? plain.readUInt32LE(pos + 5) : undefined;
    const idStart = pos + entrySize - ID_SIZE;
    const blob = { type: t & 1 ? 'tree' : 'data', id: plain.toString('hex', idStart, idStart + ID_SIZE), offset, length } as const;
    blobs.push(uncompressedLength === undefined ? blob : { ...blob, uncompressedLength });
    offset += length;
    pos += entrySize;
  }
  return blobs;
}

/**
 * Reads the header length from the pack's last bytes and checks it is plausible for a file of
 * `fileSize` bytes. Returns where the encrypted header starts and how long it is.
 */
export function parsePackTrailer(tail: Buffer, fileSize: number): { headerOffset: number; headerLength: number } {
  if (fileSize < MIN_PACK_SIZE) throw corrupt(`pack is too small (${fileSize} bytes)`);
  if (tail.length < TRAILER_SIZE) throw corrupt('pack trailer is truncated');
  const headerLength = tail.readUInt32LE(tail.length - TRAILER_SIZE);
  if (headerLength < CRYPTO_OVERHEAD || headerLength > MAX_HEADER_SIZE || headerLength + TRAILER_SIZE > fileSize) {
    throw corrupt(`pack header length ${headerLength} is invalid for a pack of ${fileSize} bytes`);
  }
  return { headerOffset: fileSize - TRAILER_SIZE - headerLength, headerLength };
}

/** Checks that blobs tile the pack exactly from offset 0 up to the header. */
export function checkBlobsFitHeader(blobs: readonly PackedBlob[], headerOffset: number): void {
  const last = blobs.at(-1);
  const end = last ? last.offset + last.length : 0;
  if (end !== headerOffset) {
    throw corrupt(`pack header lists ${end} bytes of blobs but the header starts at ${headerOffset}`);
  }
}
