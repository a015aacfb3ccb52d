// Reads a pack for check --read-data 1 MiB at a time instead of whole: hashes the file as it goes
// and moves each piece to a crypto worker to verify the blobs in it. The pieces come back to be
// read into again, so memory stays at a few buffers whatever the size of the packs.

import { createHash } from 'node:crypto';
import type { PackedBlob } from '../format/pack.js';
import type { Repository } from '../repository/repository.js';

/** Bytes read at once: big enough that a read costs little, small beside a pack. */
export const PIECE_BYTES = 1024 * 1024;
/** Pieces of a pack read and not yet verified: one for a worker to verify while the next is read. */
const PIECES_AHEAD = 2;

function copyOf(bytes: Buffer): ArrayBuffer {
  const copy = new ArrayBuffer(bytes.length);
  bytes.copy(Buffer.from(copy));
  return copy;
}

export type PackData = { readonly problems: string[] } | { readonly readError: unknown };

/**
 * Where the reads of a pack end: at blob ends, so that a blob is never split between two pieces
 * in a well-formed pack (one bigger than a piece is read alone), then the header.
 */
function pieceEnds(blobs: readonly PackedBlob[], size: number): number[] {
  const ends: number[] = [];
  let start = 0;
  let last = 0;
  for (const b of blobs) {
    const end = b.offset + b.length;
    if (end > size) break;
    if (end - start > PIECE_BYTES && last > start) {
      ends.push(last);
      start = last;
    }
    last = Math.max(last, end);
  }
  if (last > start) ends.push(last);
  for (let at = Math.max(start, last); at < size; ) {
    at = Math.min(size, at + PIECE_BYTES);
    ends.push(at);
  }
  return ends;
}

/**
 * Reads a pack of `size` bytes and finds what is wrong with it: its hash, or else its blobs
 * (`blobs` sorted by offset). Only the hash is reported when it is wrong, as restic does: the
 * pack is damaged, and its blobs say nothing more.
 */
export async function verifyPackData(repo: Repository, packId: string, size: number, blobs: readonly PackedBlob[]): Promise<PackData> {
  const handle = { type: 'data', name: packId } as const;
  const hash = createHash('sha256');
  const pieces: Promise<string[]>[] = [];
  // Buffers back from the workers, to read the next pieces into.
  const spare: ArrayBuffer[] = [];
  // The bytes read whose blobs are not verified yet, from `windowStart` in the file on.
  let window: Buffer = Buffer.alloc(0);
  let windowStart = 0;
  let next = 0;
  // The buffer the last piece was read into.
  let into: Buffer | undefined;
  /** Moves `bytes` to a worker to verify `inBytes`; a buffer of a piece's size comes back to `spare`. */
  const verify = async (bytes: Buffer, inBytes: PackedBlob[]): Promise<string[]> => {
    // Bytes that are not a piece read into our buffer (the backend read into one of its own, or
    // they were joined to bytes kept from before) move as a copy.
    const piece = into && bytes.buffer === into.buffer && bytes.byteOffset === 0 ? (into.buffer as ArrayBuffer) : copyOf(bytes);
    const verified = await repo.verifyBlobs(piece, bytes.length, inBytes);
    if (verified.piece.byteLength === PIECE_BYTES) spare.push(verified.piece);
    return verified.problems;
  };
  /** Sends the blobs read whole (at the end, all the rest) to a worker, with the window. */
  const verifyWindow = (read: number, atEnd: boolean) => {
    const inWindow: PackedBlob[] = [];
    for (; next < blobs.length && (atEnd || blobs[next]!.offset + blobs[next]!.length <= read); next++) {
      // A blob the index places past the end of the file verifies as what there is of it.
      inWindow.push({ ...blobs[next]!, offset: blobs[next]!.offset - windowStart });
    }
    // Only overlapping or misplaced blobs need bytes of this window later: a copy of them stays.
    const keepFrom = next < blobs.length ? Math.min(blobs[next]!.offset, read) : read;
    const kept = Buffer.from(window.subarray(keepFrom - windowStart));
    if (inWindow.length > 0) pieces.push(verify(window, inWindow));
    window = kept;
    windowStart = keepFrom;
  };
  let read = 0;
  try {
    for (const end of pieceEnds(blobs, size)) {
      // A verification that fails (the workers failed) is thrown by Promise.all below.
      if (pieces.length >= PIECES_AHEAD) await pieces[pieces.length - PIECES_AHEAD]!.catch(() => undefined);
      into = Buffer.from(spare.pop() ?? new ArrayBuffer(PIECE_BYTES));
      const piece = await repo.backend.read(handle, { offset: read, length: end - read }, into);
      if (piece.buffer !== into.buffer) spare.push(into.buffer as ArrayBuffer);
      hash.update(piece);
      read = end;
      window = window.length === 0 ? piece : Buffer.concat([window, piece]);
      verifyWindow(read, false);
    }
  } catch (readError) {
    await Promise.allSettled(pieces);
    return { readError };
  }
  verifyWindow(read, true);
  const problems = (await Promise.all(pieces)).flat();
  if (hash.digest('hex') !== packId) return { problems: ['Pack ID does not match, the pack file is damaged'] };
  return { problems };
}
