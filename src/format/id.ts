// Object ids: lowercase hex SHA-256. Storage names hash the stored bytes; blob ids hash the plaintext.

import { createHash, randomBytes } from 'node:crypto';
import { invalidArgument } from '../errors.js';

export const ID_SIZE = 32;
const idPattern = /^[0-9a-f]{64}$/;

export function isId(s: string): boolean {
  return idPattern.test(s);
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
