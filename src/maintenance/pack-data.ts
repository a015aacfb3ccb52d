// Reads a pack for check --read-data a few MiB at a time instead of whole, into one buffer used
// again for every piece: hashes the file as it goes and hands each piece to a crypto worker to
// verify the blobs in it, so memory stays at a few pieces whatever the size of the packs.

import { createHash } from 'node:crypto';
import type { PackedBlob } from '../format/pack.js';
import type { Repository } from '../repository/repository.js';

/** Bytes read at once: big enough that a read costs little, small beside a pack. */
const PIECE_BYTES = 1024 * 1024;
/** Pieces of a pack read and not yet verified: one for a worker to verify while the next is read. */
const PIECES_AHEAD = 2;

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
  // The workers take a copy of each piece: the next one can be read into the same buffer.
  const readBuffer = Buffer.allocUnsafeSlow(PIECE_BYTES);
  // The bytes read whose blobs are not verified yet, from `windowStart` in the file on.
  let window: Buffer = Buffer.alloc(0);
  let windowStart = 0;
  let next = 0;
  /** Sends the blobs read whole (at the end, all the rest) to a worker, with the window. */
  const verifyWindow = (read: number, atEnd: boolean) => {
    const inWindow: PackedBlob[] = [];
    for (; next < blobs.length && (atEnd || blobs[next]!.offset + blobs[next]!.length <= read); next++) {
      // A blob the index places past the end of the file verifies as what there is of it.
      inWindow.push({ ...blobs[next]!, offset: blobs[next]!.offset - windowStart });
    }
    if (inWindow.length > 0) pieces.push(repo.verifyBlobs(window, inWindow));
    // Only overlapping or misplaced blobs need bytes of this window later: a copy of them stays.
    const keepFrom = next < blobs.length ? Math.min(blobs[next]!.offset, read) : read;
    window = Buffer.from(window.subarray(keepFrom - windowStart));
    windowStart = keepFrom;
  };
  let read = 0;
  try {
    for (const end of pieceEnds(blobs, size)) {
      // A verification that fails (the workers failed) is thrown by Promise.all below.
      if (pieces.length >= PIECES_AHEAD) await pieces[pieces.length - PIECES_AHEAD]!.catch(() => undefined);
      const piece = await repo.backend.read(handle, { offset: read, length: end - read }, readBuffer);
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
