// Encode and decode the messages of the NBD fixed-newstyle handshake (greeting, options, option
// replies and their INFO / META_CONTEXT payloads), for both the client and a server side.

import {
  Info,
  NBD_CLISERV_MAGIC,
  NBD_INIT_MAGIC,
  NBD_OPTION_REPLY_MAGIC,
  NBD_OPTS_MAGIC,
} from './constants.js';
import { decodeString, encodeString, malformed, readU64, requireLength, writeU32, writeU64 } from './wire.js';

/** The two magics every greeting starts with; the second tells the handshake style. */
export const GREETING_MAGICS_LENGTH = 16;
export const OPTION_HEADER_LENGTH = 16;
export const OPTION_REPLY_HEADER_LENGTH = 20;

export type HandshakeStyle = 'newstyle' | 'oldstyle';

export function decodeGreetingMagics(buf: Buffer): HandshakeStyle {
  requireLength(buf, GREETING_MAGICS_LENGTH, 'greeting');
  if (buf.readBigUInt64BE(0) !== NBD_INIT_MAGIC) throw malformed('greeting does not start with NBDMAGIC (not an NBD server?)');
  const second = buf.readBigUInt64BE(8);
  if (second === NBD_OPTS_MAGIC) return 'newstyle';
  if (second === NBD_CLISERV_MAGIC) return 'oldstyle';
  throw malformed(`greeting has unknown magic 0x${second.toString(16)}`);
}

/** NBDMAGIC, IHAVEOPT and the 16-bit handshake flags. */
export function encodeNewstyleGreeting(handshakeFlags: number): Buffer {
  const buf = Buffer.alloc(GREETING_MAGICS_LENGTH + 2);
  buf.writeBigUInt64BE(NBD_INIT_MAGIC, 0);
  buf.writeBigUInt64BE(NBD_OPTS_MAGIC, 8);
  buf.writeUInt16BE(handshakeFlags, 16);
  return buf;
}

export function encodeClientFlags(flags: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt32BE(flags, 0);
  return buf;
}

export function decodeClientFlags(buf: Buffer): number {
  requireLength(buf, 4, 'client flags');
  return buf.readUInt32BE(0);
}

/** An option request: IHAVEOPT, the option, then its data. */
export function encodeOption(option: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(OPTION_HEADER_LENGTH);
  header.writeBigUInt64BE(NBD_OPTS_MAGIC, 0);
  header.writeUInt32BE(option, 8);
  header.writeUInt32BE(data.length, 12);
  return Buffer.concat([header, data]);
}

export interface OptionHeader {
  option: number;
  /** Bytes of option data that follow the header. */
  length: number;
}

export function decodeOptionHeader(buf: Buffer): OptionHeader {
  requireLength(buf, OPTION_HEADER_LENGTH, 'option header');
  if (buf.readBigUInt64BE(0) !== NBD_OPTS_MAGIC) throw malformed('option request does not start with IHAVEOPT');
  return { option: buf.readUInt32BE(8), length: buf.readUInt32BE(12) };
}

export function encodeOptionReply(option: number, type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(OPTION_REPLY_HEADER_LENGTH);
  header.writeBigUInt64BE(NBD_OPTION_REPLY_MAGIC, 0);
  header.writeUInt32BE(option, 8);
  header.writeUInt32BE(type, 12);
  header.writeUInt32BE(data.length, 16);
  return Buffer.concat([header, data]);
}

export interface OptionReplyHeader {
  /** The option this replies to, echoed by the server. */
  option: number;
  type: number;
  length: number;
}

export function decodeOptionReplyHeader(buf: Buffer): OptionReplyHeader {
  requireLength(buf, OPTION_REPLY_HEADER_LENGTH, 'option reply header');
  if (buf.readBigUInt64BE(0) !== NBD_OPTION_REPLY_MAGIC) throw malformed('option reply has a wrong magic');
  return { option: buf.readUInt32BE(8), type: buf.readUInt32BE(12), length: buf.readUInt32BE(16) };
}

export interface InfoRequest {
  exportName: string;
  /** NBD_INFO_* types the client asks for (the server may send more). */
  infos: number[];
}

/** Data of NBD_OPT_INFO and NBD_OPT_GO. */
export function encodeInfoRequest(request: InfoRequest): Buffer {
  const name = encodeString(request.exportName, 'export name');
  const buf = Buffer.alloc(4 + name.length + 2 + 2 * request.infos.length);
  buf.writeUInt32BE(name.length, 0);
  name.copy(buf, 4);
  buf.writeUInt16BE(request.infos.length, 4 + name.length);
  request.infos.forEach((info, i) => buf.writeUInt16BE(info, 6 + name.length + 2 * i));
  return buf;
}

export function decodeInfoRequest(data: Buffer): InfoRequest {
  requireLength(data, 6, 'info request');
  const nameLength = data.readUInt32BE(0);
  const exportName = decodeString(data, 4, nameLength, 'export name');
  requireLength(data, 4 + nameLength + 2, 'info request');
  const count = data.readUInt16BE(4 + nameLength);
  if (data.length !== 6 + nameLength + 2 * count) throw malformed('info request length does not match its count of info types');
  const infos = Array.from({ length: count }, (_, i) => data.readUInt16BE(6 + nameLength + 2 * i));
  return { exportName, infos };
}

export type InfoReply =
  | { type: typeof Info.export; size: number; transmissionFlags: number }
  | { type: typeof Info.name; name: string }
  | { type: typeof Info.description; description: string }
  | { type: typeof Info.blockSize; minimum: number; preferred: number; maximum: number }
  /** An information type this codec does not know; a client ignores it. */
  | { type: 'unknown'; infoType: number };

/** Data of an NBD_REP_INFO reply. */
export function encodeInfoReply(info: Exclude<InfoReply, { type: 'unknown' }>): Buffer {
  switch (info.type) {
    case Info.export: {
      const buf = Buffer.alloc(12);
      buf.writeUInt16BE(Info.export, 0);
      writeU64(buf, 2, info.size, 'export size');
      buf.writeUInt16BE(info.transmissionFlags, 10);
      return buf;
    }
    case Info.name:
    case Info.description: {
      const text = encodeString(info.type === Info.name ? info.name : info.description, 'export name or description');
      const head = Buffer.alloc(2);
      head.writeUInt16BE(info.type, 0);
      return Buffer.concat([head, text]);
    }
    case Info.blockSize: {
      const buf = Buffer.alloc(14);
      buf.writeUInt16BE(Info.blockSize, 0);
      writeU32(buf, 2, info.minimum, 'minimum block size');
      writeU32(buf, 6, info.preferred, 'preferred block size');
      writeU32(buf, 10, info.maximum, 'maximum block size');
      return buf;
    }
  }
}

export function decodeInfoReply(data: Buffer): InfoReply {
  requireLength(data, 2, 'NBD_REP_INFO');
  const type = data.readUInt16BE(0);
  switch (type) {
    case Info.export:
      if (data.length !== 12) throw malformed(`NBD_INFO_EXPORT is ${data.length} bytes, expected 12`);
      return { type, size: readU64(data, 2, 'export size'), transmissionFlags: data.readUInt16BE(10) };
    case Info.name:
      return { type, name: decodeString(data, 2, data.length - 2, 'export name') };
    case Info.description:
      return { type, description: decodeString(data, 2, data.length - 2, 'export description') };
    case Info.blockSize:
      if (data.length !== 14) throw malformed(`NBD_INFO_BLOCK_SIZE is ${data.length} bytes, expected 14`);
      return { type, minimum: data.readUInt32BE(2), preferred: data.readUInt32BE(6), maximum: data.readUInt32BE(10) };
    default:
      return { type: 'unknown', infoType: type };
  }
}

export interface MetaContextQuery {
  exportName: string;
  /** Context names or query patterns; none asks a LIST for every context. */
  queries: string[];
}

/** Data of NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT. */
export function encodeMetaContextQuery(query: MetaContextQuery): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n, 0);
    return b;
  };
  const name = encodeString(query.exportName, 'export name');
  parts.push(u32(name.length), name, u32(query.queries.length));
  for (const q of query.queries) {
    const bytes = encodeString(q, 'metadata context query');
    parts.push(u32(bytes.length), bytes);
  }
  return Buffer.concat(parts);
}

export function decodeMetaContextQuery(data: Buffer): MetaContextQuery {
  let at = 0;
  const u32 = (what: string) => {
    requireLength(data, at + 4, what);
    const n = data.readUInt32BE(at);
    at += 4;
    return n;
  };
  const str = (what: string) => {
    const length = u32(what);
    const s = decodeString(data, at, length, what);
    at += length;
    return s;
  };
  const exportName = str('export name');
  const count = u32('query count');
  const queries: string[] = [];
  for (let i = 0; i < count; i++) queries.push(str('metadata context query'));
  if (at !== data.length) throw malformed('metadata context request has trailing bytes');
  return { exportName, queries };
}

export interface MetaContext {
  id: number;
  name: string;
}

/** Data of an NBD_REP_META_CONTEXT reply. */
export function encodeMetaContextReply(context: MetaContext): Buffer {
  const name = encodeString(context.name, 'metadata context name');
  const buf = Buffer.alloc(4 + name.length);
  buf.writeUInt32BE(context.id, 0);
  name.copy(buf, 4);
  return buf;
}

export function decodeMetaContextReply(data: Buffer): MetaContext {
  requireLength(data, 5, 'NBD_REP_META_CONTEXT');
  return { id: data.readUInt32BE(0), name: decodeString(data, 4, data.length - 4, 'metadata context name') };
}
