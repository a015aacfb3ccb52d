// A restic tree node (one directory entry) and its JSON, byte for byte as restic 0.14 writes it:
// equal bytes give equal tree ids, which is what lets our trees deduplicate against restic's.

import { isUtf8 } from 'node:buffer';
import { invalidArgument } from '../errors.js';
import type { NodeType } from './file-mode.js';
import { goQuote, goUnquote } from './go-quote.js';
import {
  clampGoTimeYear,
  formatGoTime,
  type GoTime,
  goJsonBytes,
  goJsonString,
  parseGoTime,
  zeroGoTime,
} from './go-json.js';
import { JsonReader } from './json-reader.js';
import { isId } from './id.js';

export type { NodeType } from './file-mode.js';

export interface ExtendedAttribute {
  name: string;
  /** null is written as JSON null (Go's nil slice), which differs from an empty value. */
  value: Buffer | null;
}

/**
 * One entry of a restic tree. Zero values (0, 0n, '', empty buffers and arrays) are the ones Go
 * omits from the JSON. uint64 fields are bigints so values above 2^53 survive.
 */
export interface Node {
  /** Raw file name bytes; may be any bytes but `/` and NUL, valid UTF-8 or not. */
  name: Buffer;
  type: NodeType;
  /** Go os.FileMode bits (see file-mode.ts), not st_mode. */
  mode: number;
  mtime: GoTime;
  atime: GoTime;
  ctime: GoTime;
  uid: number;
  gid: number;
  user: string;
  group: string;
  inode: bigint;
  /** st_dev. */
  deviceId: bigint;
  /** Files only. */
  size: bigint;
  /** st_nlink; restic records it for files, symlinks and devices. */
  links: bigint;
  /** Raw target bytes of a symlink. */
  linkTarget: Buffer;
  extendedAttributes: ExtendedAttribute[];
  /** st_rdev of block and character devices. */
  device: bigint;
  /** Data blob ids of a file, in order: [] for an empty file; null for every other type. */
  content: string[] | null;
  /** Tree blob id of a directory; null for every other type. */
  subtree: string | null;
  /** Why the entry could not be read completely. */
  error: string;
}

const noBytes = Buffer.alloc(0);

/** A node with every other field at its zero value, and `content` [] for a file. */
export function makeNode(init: Pick<Node, 'name' | 'type'> & Partial<Node>): Node {
  return {
    mode: 0,
    mtime: zeroGoTime,
    atime: zeroGoTime,
    ctime: zeroGoTime,
    uid: 0,
    gid: 0,
    user: '',
    group: '',
    inode: 0n,
    deviceId: 0n,
    size: 0n,
    links: 0n,
    linkTarget: noBytes,
    extendedAttributes: [],
    device: 0n,
    content: init.type === 'file' ? [] : null,
    subtree: null,
    error: '',
    ...init,
  };
}

function goTimeJson(t: GoTime): string {
  return '"' + formatGoTime(clampGoTimeYear(t)) + '"';
}

/**
 * The node's JSON exactly as restic 0.14's Node.MarshalJSON produces it (fields in Go struct
 * order, omitempty as declared there). A symlink target that is not valid UTF-8 is written the
 * way 0.14 writes it (each invalid byte as \ufffd), followed by `linktarget_raw` with the real
 * bytes, as restic >= 0.17 does, so the target is not lost; 0.14 ignores that field.
 */
export function encodeNode(node: Node): string {
  if (node.name.length === 0) throw invalidArgument('a tree node needs a name');
  if (node.type === 'file' && node.content === null) throw invalidArgument('a file node needs a content list');
  if (node.type === 'dir' && node.subtree === null) throw invalidArgument('a directory node needs a subtree');

  let s = '{"name":' + goJsonString(goQuote(node.name)) + ',"type":"' + node.type + '"';
  if (node.mode !== 0) s += ',"mode":' + node.mode;
  s += ',"mtime":' + goTimeJson(node.mtime) + ',"atime":' + goTimeJson(node.atime) + ',"ctime":' + goTimeJson(node.ctime);
  s += ',"uid":' + node.uid + ',"gid":' + node.gid;
  if (node.user !== '') s += ',"user":' + goJsonString(node.user);
  if (node.group !== '') s += ',"group":' + goJsonString(node.group);
  if (node.inode !== 0n) s += ',"inode":' + node.inode;
  if (node.deviceId !== 0n) s += ',"device_id":' + node.deviceId;
  if (node.size !== 0n) s += ',"size":' + node.size;
  if (node.links !== 0n) s += ',"links":' + node.links;
  if (node.linkTarget.length !== 0) {
    s += ',"linktarget":' + goJsonBytes(node.linkTarget);
    if (!isUtf8(node.linkTarget)) s += ',"linktarget_raw":"' + node.linkTarget.toString('base64') + '"';
  }
  if (node.extendedAttributes.length !== 0) {
    s += ',"extended_attributes":[';
    node.extendedAttributes.forEach((a, i) => {
      const value = a.value === null ? 'null' : '"' + a.value.toString('base64') + '"';
      s += (i === 0 ? '{"name":' : ',{"name":') + goJsonString(a.name) + ',"value":' + value + '}';
    });
    s += ']';
  }
  if (node.device !== 0n) s += ',"device":' + node.device;
  s += ',"content":' + (node.content === null ? 'null' : '[' + node.content.map((id) => '"' + id + '"').join(',') + ']');
  if (node.subtree !== null) s += ',"subtree":"' + node.subtree + '"';
  if (node.error !== '') s += ',"error":' + goJsonString(node.error);
  return s + '}';
}

const anyCaseIdPattern = /^[0-9a-fA-F]{64}$/;
const nodeTypes = new Set<string>(['file', 'dir', 'symlink', 'dev', 'chardev', 'fifo', 'socket', 'irregular']);
const UINT32_MAX = 0xffff_ffff;

function readId(r: JsonReader): string {
  const id = r.readString();
  if (isId(id)) return id;
  // Go's hex decoding also accepts upper case.
  if (!anyCaseIdPattern.test(id)) r.fail(`invalid blob id ${JSON.stringify(id)}`);
  return id.toLowerCase();
}

function readTime(r: JsonReader): GoTime {
  try {
    return parseGoTime(r.readString());
  } catch (err) {
    return r.fail((err as Error).message);
  }
}

function readBase64(r: JsonReader): Buffer {
  return Buffer.from(r.readString(), 'base64');
}

function readExtendedAttributes(r: JsonReader): ExtendedAttribute[] {
  const attrs: ExtendedAttribute[] = [];
  r.beginArray();
  while (r.nextItem()) {
    const attr: ExtendedAttribute = { name: '', value: null };
    if (!r.readNull()) {
      r.beginObject();
      for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) {
        const field = key.toLowerCase();
        if (r.readNull()) {
          if (field === 'value') attr.value = null;
        } else if (field === 'name') attr.name = r.readString();
        else if (field === 'value') attr.value = readBase64(r);
        else r.skipValue();
      }
    }
    attrs.push(attr);
  }
  return attrs;
}

function readContent(r: JsonReader): string[] {
  const ids: string[] = [];
  r.beginArray();
  while (r.nextItem()) ids.push(readId(r));
  return ids;
}

/** A node being read, with what is only known once the whole object has been seen. */
interface NodeReading {
  node: Node;
  typeSeen: boolean;
  /** From linktarget_raw, which holds the exact bytes and wins over linktarget. */
  rawLinkTarget: Buffer | undefined;
}

/** Reads one non-null field; false when `key` (with this exact spelling) is no field name. */
function readField(r: JsonReader, reading: NodeReading, key: string): boolean {
  const node = reading.node;
  switch (key) {
    case 'name': {
      const quoted = r.readString();
      try {
        node.name = goUnquote(quoted);
      } catch (err) {
        r.fail(`node name: ${(err as Error).message}`);
      }
      return true;
    }
    case 'type': {
      const type = r.readString();
      if (!nodeTypes.has(type)) r.fail(`unknown node type ${JSON.stringify(type)}`);
      node.type = type as NodeType;
      reading.typeSeen = true;
      return true;
    }
    case 'mode':
      node.mode = r.readUint(UINT32_MAX);
      return true;
    case 'mtime':
      node.mtime = readTime(r);
      return true;
    case 'atime':
      node.atime = readTime(r);
      return true;
    case 'ctime':
      node.ctime = readTime(r);
      return true;
    case 'uid':
      node.uid = r.readUint(UINT32_MAX);
      return true;
    case 'gid':
      node.gid = r.readUint(UINT32_MAX);
      return true;
    case 'user':
      node.user = r.readString();
      return true;
    case 'group':
      node.group = r.readString();
      return true;
    case 'inode':
      node.inode = r.readUint64();
      return true;
    case 'device_id':
      node.deviceId = r.readUint64();
      return true;
    case 'size':
      node.size = r.readUint64();
      return true;
    case 'links':
      node.links = r.readUint64();
      return true;
    case 'linktarget':
      node.linkTarget = Buffer.from(r.readString(), 'utf8');
      return true;
    case 'linktarget_raw':
      reading.rawLinkTarget = readBase64(r);
      return true;
    case 'extended_attributes':
      node.extendedAttributes = readExtendedAttributes(r);
      return true;
    case 'device':
      node.device = r.readUint64();
      return true;
    case 'content':
      node.content = readContent(r);
      return true;
    case 'subtree':
      node.subtree = readId(r);
      return true;
    case 'error':
      node.error = r.readString();
      return true;
    default:
      return false;
  }
}

/**
 * Reads a node object. Missing fields and nulls keep their zero value, unknown fields are
 * skipped and keys match case-insensitively, as with Go's decoder; a missing or unknown type, a
 * name that does not unquote, or a malformed value is a corrupt() error.
 */
export function readNode(r: JsonReader): Node {
  // A literal rather than makeNode(): this runs for every node of every tree read.
  const node: Node = {
    name: noBytes,
    type: 'file',
    mode: 0,
    mtime: zeroGoTime,
    atime: zeroGoTime,
    ctime: zeroGoTime,
    uid: 0,
    gid: 0,
    user: '',
    group: '',
    inode: 0n,
    deviceId: 0n,
    size: 0n,
    links: 0n,
    linkTarget: noBytes,
    extendedAttributes: [],
    device: 0n,
    content: null,
    subtree: null,
    error: '',
  };
  const reading: NodeReading = { node, typeSeen: false, rawLinkTarget: undefined };
  r.beginObject();
  for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) {
    if (r.readNull()) {
      // Go leaves the zero value; for content and subtree that is null, for the rest our default.
      const folded = key.toLowerCase();
      if (folded === 'content') node.content = null;
      else if (folded === 'subtree') node.subtree = null;
      continue;
    }
    if (readField(r, reading, key)) continue;
    const folded = key.toLowerCase();
    if (folded === key || !readField(r, reading, folded)) r.skipValue();
  }
  if (!reading.typeSeen) r.fail('node without a type');
  if (reading.rawLinkTarget !== undefined) node.linkTarget = reading.rawLinkTarget;
  return node;
}

/** Decodes a single node's JSON (as encodeNode writes it). */
export function decodeNode(json: string | Uint8Array): Node {
  const r = typeof json === 'string' ? new JsonReader(json, 'tree node') : JsonReader.fromBytes(json, 'tree node');
  const node = readNode(r);
  r.end();
  return node;
}
