// The snapshot tree of an image backup: the image as a file whose content is its block list (so
// restic restores it), and beside it NAME.blockdir holding the block directory. Also reads it back.

import { corrupt } from '../errors.js';
import { goUnquote } from '../format/go-quote.js';
import type { GoTime } from '../format/go-json.js';
import { JsonReader } from '../format/json-reader.js';
import { encodeNode, makeNode } from '../format/node.js';
import { ID_BYTES, type BlockDirectory } from './block-directory.js';
import { zeroBlockId } from './zero-blocks.js';

/** The block directory's file name is the image's name with this suffix. */
export const DIRECTORY_SUFFIX = '.blockdir';

export interface ImageNodeOwner {
  readonly time: GoTime;
  readonly uid: number;
  readonly gid: number;
  readonly user: string;
}

const hexPairs = Buffer.from(Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0')).join(''), 'latin1');

/**
 * `"content":[...]` of the image straight from the directory's typed arrays, as bytes: a 1 TiB
 * image has a million ids, which as a string array would cost far more memory than as bytes.
 */
function contentJson(dir: BlockDirectory): Buffer {
  const entry = 2 + 2 * ID_BYTES;
  const out = Buffer.allocUnsafe(Math.max(0, dir.blockCount * (entry + 1) - 1) + 2);
  let at = 0;
  out[at++] = 0x5b;
  for (let i = 0; i < dir.blockCount; i++) {
    if (i > 0) out[at++] = 0x2c;
    out[at++] = 0x22;
    const id = dir.isUnused(i) ? zeroBlockId(dir.blockLength(i)) : dir.idBytes(i);
    for (let k = 0; k < ID_BYTES; k++) {
      const b = id[k]!;
      out[at++] = hexPairs[2 * b]!;
      out[at++] = hexPairs[2 * b + 1]!;
    }
    out[at++] = 0x22;
  }
  out[at++] = 0x5d;
  return out;
}

function fileNodeJson(name: string, size: number, owner: ImageNodeOwner): string {
  return encodeNode(
    makeNode({
      name: Buffer.from(name, 'utf8'),
      type: 'file',
      // Disk images hold everything a system has: readable by their owner only.
      mode: 0o600,
      mtime: owner.time,
      atime: owner.time,
      ctime: owner.time,
      uid: owner.uid,
      gid: owner.gid,
      user: owner.user,
      size: BigInt(size),
      links: 1n,
      content: [],
    }),
  );
}

/** The node with its content list replaced: encodeNode ends every file node with `"content":[]}`. */
function withContent(nodeJson: string, content: Buffer): Buffer {
  const tail = '[]}';
  if (!nodeJson.endsWith('"content":' + tail)) throw new Error('unexpected file node encoding');
  return Buffer.concat([Buffer.from(nodeJson.slice(0, -tail.length), 'utf8'), content, Buffer.from('}')]);
}

/** The tree blob: `{"nodes":[image, image.blockdir]}\n`, in restic's name order (a prefix sorts first). */
export function encodeImageTree(dir: BlockDirectory, directoryContent: readonly string[], directorySize: number, owner: ImageNodeOwner): Buffer {
  const image = withContent(fileNodeJson(dir.name, dir.volumeSize, owner), contentJson(dir));
  const directory = withContent(
    fileNodeJson(dir.name + DIRECTORY_SUFFIX, directorySize, owner),
    Buffer.from('[' + directoryContent.map((id) => `"${id}"`).join(',') + ']'),
  );
  return Buffer.concat([Buffer.from('{"nodes":['), image, Buffer.from(','), directory, Buffer.from(']}\n')]);
}

export interface ImageEntry {
  readonly name: string;
  readonly size: number;
  /** Number of blobs in the image's content list. */
  readonly blobCount: number;
  readonly directory: { readonly size: number; readonly content: readonly string[] };
}

interface ScannedNode {
  name: string;
  type: string;
  size: number;
  blobCount: number;
  content: string[] | undefined;
}

/**
 * Reads one node, keeping the content ids only of block directories: an image's own list (a
 * million ids for 1 TiB) is only counted. Like restic, field names match case-insensitively.
 */
function scanNode(r: JsonReader): ScannedNode {
  const node: ScannedNode = { name: '', type: '', size: 0, blobCount: 0, content: undefined };
  r.beginObject();
  for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) {
    if (r.readNull()) continue;
    switch (key.toLowerCase()) {
      case 'name':
        node.name = goUnquote(r.readString()).toString('utf8');
        break;
      case 'type':
        node.type = r.readString();
        break;
      case 'size':
        node.size = Number(r.readUint64());
        break;
      case 'content': {
        // Go writes the name first; only then can we tell whether the ids are wanted.
        const keep = node.name === '' || node.name.endsWith(DIRECTORY_SUFFIX);
        const ids: string[] = [];
        r.beginArray();
        while (r.nextItem()) {
          if (keep) ids.push(r.readString());
          else r.skipValue();
          node.blobCount++;
        }
        if (keep) node.content = ids;
        break;
      }
      default:
        r.skipValue();
    }
  }
  return node;
}

/** The images in a tree blob: file nodes that have a NAME.blockdir file beside them. */
export function scanImageTree(data: Uint8Array, what: string): ImageEntry[] {
  const r = JsonReader.fromBytes(data, what);
  const nodes = new Map<string, ScannedNode>();
  r.beginObject();
  for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) {
    if (key.toLowerCase() !== 'nodes' || r.readNull()) {
      r.skipValue();
      continue;
    }
    r.beginArray();
    while (r.nextItem()) {
      const node = scanNode(r);
      if (node.type === 'file') nodes.set(node.name, node);
    }
  }
  r.end();
  const images: ImageEntry[] = [];
  for (const node of nodes.values()) {
    const directory = nodes.get(node.name + DIRECTORY_SUFFIX);
    if (directory === undefined) continue;
    if (directory.content === undefined) throw corrupt(`${what}: block directory ${directory.name} has no content list`);
    images.push({ name: node.name, size: node.size, blobCount: node.blobCount, directory: { size: directory.size, content: directory.content } });
  }
  return images.sort((a, b) => (a.name < b.name ? -1 : 1));
}
