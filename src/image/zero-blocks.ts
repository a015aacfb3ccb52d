// All-zero blocks: their ids by length, and shared zero buffers. Unused blocks are listed in an
// image's content as the zero blob of their length, so restic restores them as zeros.

import { createHash } from 'node:crypto';

const ids = new Map<number, Buffer>();

/** SHA-256 of `length` zero bytes: the blob id of an all-zero block of that length. */
export function zeroBlockId(length: number): Buffer {
  let id = ids.get(length);
  if (id === undefined) {
    const hash = createHash('sha256');
    const chunk = Buffer.alloc(Math.min(length, 1 << 20));
    for (let left = length; left > 0; left -= chunk.length) hash.update(left >= chunk.length ? chunk : chunk.subarray(0, left));
    id = hash.digest();
    ids.set(length, id);
  }
  return id;
}

let shared = Buffer.alloc(0);

/** A read-only zero buffer of at least `length` bytes, sliced to it; callers must not write to it. */
export function zeros(length: number): Buffer {
  if (shared.length < length) shared = Buffer.alloc(length);
  return shared.subarray(0, length);
}
