// Object ids: lowercase hex SHA-256. Storage names hash the stored bytes; blob ids hash the plaintext.

import { createHash, randomBytes } from 'node:crypto';
import { invalidArgument } from '../errors.js';

export const ID_SIZE = 32;

/** The value of each lowercase hex digit by its character code; -1 for every other code below 128. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;

/**
 * Writes the 32 bytes of a 64-digit lowercase hex id into `into` at `at`, in JavaScript: reading
 * an index means this for every blob, and a check and a conversion in one loop cost a third of a
 * regular expression followed by Buffer's hex decoder. Returns false if `id` is not such an id
 * (then `into` may be partly written).
 */
export function writeIdBytes(id: string, into: Uint8Array, at: number): boolean {
  if (id.length !== 64) return false;
  for (let i = 0; i < ID_SIZE; i++) {
    const high = id.charCodeAt(2 * i);
    const low = id.charCodeAt(2 * i + 1);
    const h = HEX_VALUE[high & 127]!;
    const l = HEX_VALUE[low & 127]!;
    if ((h | l) < 0 || (high | low) > 127) return false;
    into[at + i] = (h << 4) | l;
  }
  return true;
}

const checked = new Uint8Array(ID_SIZE);

export function isId(s: string): boolean {
  return writeIdBytes(s, checked, 0);
}

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

export function hashId(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function randomId(): string {
  return randomBytes(ID_SIZE).toString('hex');
}

export function idToBytes(id: string): Buffer {
  if (!isId(id)) throw invalidArgument(`invalid id "${id}": expected 64 lowercase hex characters`);
  return Buffer.from(id, 'hex');
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}
