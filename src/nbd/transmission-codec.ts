// Encode and decode NBD transmission-phase messages: requests, simple replies, structured reply
// chunk headers and the payloads of data, hole, block-status and error chunks.

import {
  isErrorReplyType,
  NBD_REQUEST_MAGIC,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
  ReplyType,
} from './constants.js';
import { decodeString, encodeString, malformed, readU64, requireLength, writeU32, writeU64 } from './wire.js';

export const REQUEST_HEADER_LENGTH = 28;
export const SIMPLE_REPLY_LENGTH = 16;
export const CHUNK_HEADER_LENGTH = 20;
/** The offset that opens an NBD_REPLY_TYPE_OFFSET_DATA payload, before the data itself. */
export const OFFSET_DATA_PREFIX_LENGTH = 8;
export const OFFSET_HOLE_LENGTH = 12;

export interface RequestHeader {
  /** NBD_CMD_FLAG_* bits. */
  flags: number;
  /** NBD_CMD_*. */
  type: number;
  /** The handle the server echoes in its reply; opaque to the server. */
  cookie: bigint;
  offset: number;
  /** Bytes to read, write, trim or describe; a WRITE's data follows the header. */
  length: number;
}

export function encodeRequest(request: RequestHeader): Buffer {
  const buf = Buffer.alloc(REQUEST_HEADER_LENGTH);
  buf.writeUInt32BE(NBD_REQUEST_MAGIC, 0);
  buf.writeUInt16BE(request.flags, 4);
  buf.writeUInt16BE(request.type, 6);
  buf.writeBigUInt64BE(request.cookie, 8);
  writeU64(buf, 16, request.offset, 'request offset');
  writeU32(buf, 24, request.length, 'request length');
  return buf;
}

export function decodeRequest(buf: Buffer): RequestHeader {
  requireLength(buf, REQUEST_HEADER_LENGTH, 'request');
  if (buf.readUInt32BE(0) !== NBD_REQUEST_MAGIC) throw malformed('request has a wrong magic');
  return {
    flags: buf.readUInt16BE(4),
    type: buf.readUInt16BE(6),
    cookie: buf.readBigUInt64BE(8),
    offset: readU64(buf, 16, 'request offset'),
    length: buf.readUInt32BE(24),
  };
}

export interface SimpleReply {
  kind: 'simple';
  /** 0, or an NBD errno value. */
  error: number;
  cookie: bigint;
}

export interface ChunkHeader {
  kind: 'structured';
  /** NBD_REPLY_FLAG_* bits. */
  flags: number;
  /** NBD_REPLY_TYPE_*. */
  type: number;
  cookie: bigint;
  /** Bytes of payload that follow the header. */
  length: number;
}

/** A simple reply; a READ's data follows it when structured replies were not negotiated. */
export function encodeSimpleReply(reply: Omit<SimpleReply, 'kind'>): Buffer {
  const buf = Buffer.alloc(SIMPLE_REPLY_LENGTH);
  buf.writeUInt32BE(NBD_SIMPLE_REPLY_MAGIC, 0);
  buf.writeUInt32BE(reply.error, 4);
  buf.writeBigUInt64BE(reply.cookie, 8);
  return buf;
}

export function encodeChunkHeader(header: Omit<ChunkHeader, 'kind'>): Buffer {
  const buf = Buffer.alloc(CHUNK_HEADER_LENGTH);
  buf.writeUInt32BE(NBD_STRUCTURED_REPLY_MAGIC, 0);
  buf.writeUInt16BE(header.flags, 4);
  buf.writeUInt16BE(header.type, 6);
  buf.writeBigUInt64BE(header.cookie, 8);
  writeU32(buf, 16, header.length, 'chunk length');
  return buf;
}

/**
 * Length of the reply header that starts with these 4 magic bytes: the client reads a simple
 * reply's worth first and then the rest of a structured header when the magic asks for it.
 */
export function replyHeaderLength(buf: Buffer): number {
  requireLength(buf, 4, 'reply');
  const magic = buf.readUInt32BE(0);
  if (magic === NBD_SIMPLE_REPLY_MAGIC) return SIMPLE_REPLY_LENGTH;
  if (magic === NBD_STRUCTURED_REPLY_MAGIC) return CHUNK_HEADER_LENGTH;
  throw malformed(`reply has unknown magic 0x${magic.toString(16)}`);
}

export function decodeReplyHeader(buf: Buffer): SimpleReply | ChunkHeader {
  if (replyHeaderLength(buf) === SIMPLE_REPLY_LENGTH) {
    requireLength(buf, SIMPLE_REPLY_LENGTH, 'simple reply');
    return { kind: 'simple', error: buf.readUInt32BE(4), cookie: buf.readBigUInt64BE(8) };
  }
  requireLength(buf, CHUNK_HEADER_LENGTH, 'structured reply chunk header');
  return {
    kind: 'structured',
    flags: buf.readUInt16BE(4),
    type: buf.readUInt16BE(6),
    cookie: buf.readBigUInt64BE(8),
    length: buf.readUInt32BE(16),
  };
}

export function encodeOffsetDataPrefix(offset: number): Buffer {
  const buf = Buffer.alloc(OFFSET_DATA_PREFIX_LENGTH);
  writeU64(buf, 0, offset, 'data chunk offset');
  return buf;
}

export function decodeOffsetDataPrefix(buf: Buffer): number {
  requireLength(buf, OFFSET_DATA_PREFIX_LENGTH, 'NBD_REPLY_TYPE_OFFSET_DATA');
  return readU64(buf, 0, 'data chunk offset');
}

export interface Range {
  offset: number;
  length: number;
}

export function encodeOffsetHole(hole: Range): Buffer {
  const buf = Buffer.alloc(OFFSET_HOLE_LENGTH);
  writeU64(buf, 0, hole.offset, 'hole offset');
  writeU32(buf, 8, hole.length, 'hole length');
  return buf;
}

export function decodeOffsetHole(payload: Buffer): Range {
  if (payload.length !== OFFSET_HOLE_LENGTH) throw malformed(`NBD_REPLY_TYPE_OFFSET_HOLE is ${payload.length} bytes, expected 12`);
  const hole = { offset: readU64(payload, 0, 'hole offset'), length: payload.readUInt32BE(8) };
  if (hole.length === 0) throw malformed('NBD_REPLY_TYPE_OFFSET_HOLE has length 0');
  return hole;
}

export interface BlockDescriptor {
  length: number;
  /** Meaning depends on the metadata context (see AllocationFlag, DIRTY_FLAG). */
  flags: number;
}

export interface BlockStatusChunk {
  contextId: number;
  descriptors: BlockDescriptor[];
}

export function encodeBlockStatus(chunk: BlockStatusChunk): Buffer {
  const buf = Buffer.alloc(4 + 8 * chunk.descriptors.length);
  buf.writeUInt32BE(chunk.contextId, 0);
  chunk.descriptors.forEach((d, i) => {
    writeU32(buf, 4 + 8 * i, d.length, 'extent length');
    writeU32(buf, 8 + 8 * i, d.flags, 'extent flags');
  });
  return buf;
}

export function decodeBlockStatus(payload: Buffer): BlockStatusChunk {
  if (payload.length < 12 || (payload.length - 4) % 8 !== 0) {
    throw malformed(`NBD_REPLY_TYPE_BLOCK_STATUS is ${payload.length} bytes, not 4 + a positive multiple of 8`);
  }
  const descriptors: BlockDescriptor[] = [];
  for (let at = 4; at < payload.length; at += 8) {
    const length = payload.readUInt32BE(at);
    if (length === 0) throw malformed('NBD_REPLY_TYPE_BLOCK_STATUS has an extent of length 0');
    descriptors.push({ length, flags: payload.readUInt32BE(at + 4) });
  }
  return { contextId: payload.readUInt32BE(0), descriptors };
}

export interface ErrorChunk {
  /** An NBD errno value, never 0. */
  errno: number;
  message: string;
  /** Where the error happened, for NBD_REPLY_TYPE_ERROR_OFFSET. */
  offset?: number;
}

/** Payload of an NBD_REPLY_TYPE_ERROR, or of an ERROR_OFFSET when the error has an offset. */
export function encodeErrorChunk(error: ErrorChunk): { type: number; payload: Buffer } {
  const message = encodeString(error.message, 'error message');
  const tail = error.offset === undefined ? 0 : 8;
  const payload = Buffer.alloc(6 + message.length + tail);
  writeU32(payload, 0, error.errno, 'errno');
  payload.writeUInt16BE(message.length, 4);
  message.copy(payload, 6);
  if (error.offset !== undefined) writeU64(payload, 6 + message.length, error.offset, 'error offset');
  return { type: error.offset === undefined ? ReplyType.error : ReplyType.errorOffset, payload };
}

/** Any chunk type with bit 15 set starts like NBD_REPLY_TYPE_ERROR, so unknown error types decode too. */
export function decodeErrorChunk(type: number, payload: Buffer): ErrorChunk {
  if (!isErrorReplyType(type)) throw malformed(`chunk type ${type} is not an error`);
  requireLength(payload, 6, 'error chunk');
  const errno = payload.readUInt32BE(0);
  if (errno === 0) throw malformed('error chunk carries error 0');
  const messageLength = payload.readUInt16BE(4);
  const message = decodeString(payload, 6, messageLength, 'error message');
  if (type !== ReplyType.errorOffset) return { errno, message };
  if (payload.length !== 6 + messageLength + 8) throw malformed('NBD_REPLY_TYPE_ERROR_OFFSET has a wrong length');
  return { errno, message, offset: readU64(payload, 6 + messageLength, 'error offset') };
}
