// The blobs a tree blob refers to: its files' data blobs and its directories' subtrees, read
// straight from the JSON without decoding whole nodes (prune and copy read every tree there is).

import { corrupt } from '../errors.js';
import { JsonReader } from '../format/json-reader.js';

export interface TreeRefs {
  /** Data blobs of the tree's file nodes, in order, repeats included. */
  readonly content: string[];
  /** Subtrees of the tree's directory nodes. */
  readonly subtrees: string[];
}

const idPattern = /^[0-9a-fA-F]{64}$/;

function readId(r: JsonReader): string {
  const id = r.readString();
  if (!idPattern.test(id)) r.fail(`invalid blob id ${JSON.stringify(id)}`);
  return id.toLowerCase();
}

/**
 * Reads the references of a tree as restic's FindUsedBlobs takes them: the content of `file` nodes
 * and the subtree of `dir` nodes. Keys match case-insensitively, as with Go's decoder.
 */
export function treeRefs(bytes: Uint8Array, treeId: string): TreeRefs {
  const r = JsonReader.fromBytes(bytes, `tree ${treeId}`);
  const content: string[] = [];
  const subtrees: string[] = [];
  r.beginObject();
  for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) {
    if (key.toLowerCase() !== 'nodes') {
      r.skipValue();
      continue;
    }
    if (r.readNull()) continue;
    r.beginArray();
    while (r.nextItem()) {
      let type = '';
      let blobs: string[] | undefined;
      let subtree: string | undefined;
      r.beginObject();
      for (let k = r.nextKey(); k !== undefined; k = r.nextKey()) {
        if (r.readNull()) continue;
        switch (k.toLowerCase()) {
          case 'type':
            type = r.readString();
            break;
          case 'content':
            blobs = [];
            r.beginArray();
            while (r.nextItem()) blobs.push(readId(r));
            break;
          case 'subtree':
            subtree = readId(r);
            break;
          default:
            r.skipValue();
        }
      }
      if (type === 'file' && blobs) content.push(...blobs);
      else if (type === 'dir') {
        if (subtree === undefined) throw corrupt(`tree ${treeId}: a directory node has no subtree`);
        subtrees.push(subtree);
      }
    }
  }
  r.end();
  return { content, subtrees };
}
