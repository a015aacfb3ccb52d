// Primitives shared by the NBD codecs: 64-bit fields as safe JS numbers, bounded UTF-8 strings,
// and the error a decoder throws when a peer's bytes do not form a valid message.

import { HoldfastError, invalidArgument } from '../errors.js';

/** The protocol's limit for export names, context names and error messages. */
export const MAX_STRING_BYTES = 4096;

/**
 * A message that breaks the protocol. Decoders throw it without knowing the peer; the connection
 * that received the bytes rethrows it saying where they came from.
 */
export class MalformedMessage extends HoldfastError {
  constructor(detail: string) {
    super('ERR_CORRUPT', detail);
  }
}

export function malformed(detail: string): MalformedMessage {
  return new MalformedMessage(detail);
}

/**
 * Offsets and sizes are 64-bit on the wire. Numbers keep the API simple and are exact up to
 * 2^53 bytes (8 PiB), far beyond any disk image; a larger value is refused, not rounded.
 */
export function readU64(buf: Buffer, at: number, what: string): number {
  const value = buf.readBigUInt64BE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`${what} ${value} is beyond 2^53`);
  return Number(value);
}

export function writeU64(buf: Buffer, at: number, value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw invalidArgument(`NBD ${what} must be a non-negative integer, got ${value}`);
  buf.writeBigUInt64BE(BigInt(value), at);
}

export function writeU32(buf: Buffer, at: number, value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw invalidArgument(`NBD ${what} must fit in 32 bits, got ${value}`);
  }
  buf.writeUInt32BE(value, at);
}

/** UTF-8 bytes of a protocol string, refusing what a peer must reject anyway. */
export function encodeString(value: string, what: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > MAX_STRING_BYTES) throw invalidArgument(`NBD ${what} is longer than ${MAX_STRING_BYTES} bytes`);
  if (bytes.includes(0)) throw invalidArgument(`NBD ${what} must not contain NUL`);
  return bytes;
}

/** Checks a received string's length before it is sliced out of a message. */
export function decodeString(buf: Buffer, start: number, length: number, what: string): string {
  if (length > MAX_STRING_BYTES) throw malformed(`${what} is ${length} bytes, over the ${MAX_STRING_BYTES}-byte limit`);
  if (start + length > buf.length) throw malformed(`${what} runs past the end of its message`);
  return buf.toString('utf8', start, start + length);
}

/** Text from a peer, flattened so an error message stays one line. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export function requireLength(buf: Buffer, atLeast: number, what: string): void {
  if (buf.length < atLeast) throw malformed(`${what} is ${buf.length} bytes, expected at least ${atLeast}`);
}
