// Index files: which pack holds each blob, at which offset and length. Encoded as restic's Go
// encoder writes them (field order, trailing newline); the legacy top-level array is still read.

import { corrupt } from '../errors.js';
import { isId } from './id.js';
import type { PackedBlob } from './pack.js';

export interface IndexPack {
  readonly id: string;
  readonly blobs: readonly PackedBlob[];
}

export interface IndexFile {
  readonly supersedes?: readonly string[];
  readonly packs: readonly IndexPack[];
}

/** What an index file is written from: its packs may be made one at a time as it is written. */
export interface IndexFilePacks {
  readonly supersedes?: readonly string[];
  readonly packs: Iterable<IndexPack>;
}

function encodeBlob(b: PackedBlob): string {
  const u = b.uncompressedLength === undefined ? '' : `,"uncompressed_length":${b.uncompressedLength}`;
  return `{"id":"${b.id}","type":"${b.type}","offset":${b.offset},"length":${b.length}${u}}`;
}

/**
 * An index file's JSON a pack at a time: an index of many blobs is written without its whole
 * text in memory (see compressUnpackedText). Joined, the pieces are encodeIndexFile's text.
 */
export function* indexFileText(index: IndexFilePacks): Generator<string> {
  const supersedes = index.supersedes && index.supersedes.length > 0 ? `"supersedes":[${index.supersedes.map((s) => `"${s}"`).join(',')}],` : '';
  yield `{${supersedes}"packs":[`;
  let first = true;
  for (const p of index.packs) {
    yield `${first ? '' : ','}{"id":"${p.id}","blobs":[${p.blobs.map(encodeBlob).join(',')}]}`;
    first = false;
  }
  yield ']}\n';
}

export function encodeIndexFile(index: IndexFilePacks): Buffer {
  return Buffer.from([...indexFileText(index)].join(''));
}

function num(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw corrupt(`index: ${what} is not a valid number`);
  return v as number;
}

function decodeBlob(packId: string, b: Record<string, unknown> | null): PackedBlob {
  const id = b?.['id'];
  const type = b?.['type'];
  if (typeof id !== 'string' || !isId(id)) throw corrupt(`index: pack ${packId} lists a blob without a valid id`);
  if (type !== 'data' && type !== 'tree') throw corrupt(`index: blob ${id} has invalid type ${JSON.stringify(type)}`);
  const u = b!['uncompressed_length'];
  const offset = num(b!['offset'], `offset of blob ${id}`);
  const length = num(b!['length'], `length of blob ${id}`);
  // One object per blob, and there are as many as the repository has blobs.
  if (u === undefined || u === null || u === 0) return { id, type, offset, length };
  return { id, type, offset, length, uncompressedLength: num(u, `uncompressed_length of ${id}`) };
}

function decodePack(p: unknown): IndexPack {
  const o = p as { id?: unknown; blobs?: unknown };
  if (typeof o?.id !== 'string' || !isId(o.id)) throw corrupt('index: pack without a valid id');
  if (!Array.isArray(o.blobs)) throw corrupt(`index: pack ${o.id} has no blob list`);
  const list = o.blobs as (Record<string, unknown> | null)[];
  const blobs = new Array<PackedBlob>(list.length);
  for (let i = 0; i < list.length; i++) blobs[i] = decodeBlob(o.id, list[i]!);
  return { id: o.id, blobs };
}

/** How many blob locations an index file lists in all. */
export function blobCount(index: IndexFile): number {
  let n = 0;
  for (const p of index.packs) n += p.blobs.length;
  return n;
}

export function decodeIndexFile(json: Buffer): IndexFile & { legacy: boolean } {
  let obj: unknown;
  try {
    obj = JSON.parse(json.toString('utf8'));
  } catch {
    throw corrupt('index is not valid JSON');
  }
  if (Array.isArray(obj)) return { packs: obj.map(decodePack), legacy: true };
  const o = obj as { supersedes?: unknown; packs?: unknown };
  if (typeof o !== 'object' || o === null || !Array.isArray(o.packs)) throw corrupt('index has no pack list');
  const supersedes = Array.isArray(o.supersedes) ? o.supersedes.filter((s): s is string => typeof s === 'string') : [];
  return { supersedes, packs: o.packs.map(decodePack), legacy: false };
}
