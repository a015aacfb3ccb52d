// restic tree blobs: `{"nodes":[...]}` plus a newline, nodes in strictly ascending raw-name order.
// TreeBuilder takes one directory's entries in order as the backup walks; decodeTree reads any tree.

import { invalidArgument } from '../errors.js';
import { JsonReader } from './json-reader.js';
import { encodeNode, type Node, readNode } from './node.js';

/** The order of nodes in a tree: raw name bytes, as Go compares strings. */
export function compareNames(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/**
 * Builds one tree blob from nodes added in strictly ascending name order (restic's
 * TreeJSONBuilder); an out-of-order or duplicate name is an invalid-argument error.
 */
export class TreeBuilder {
  private readonly parts: string[] = [];
  private lastName: Buffer | undefined;

  add(node: Node): void {
    if (this.lastName !== undefined && Buffer.compare(node.name, this.lastName) <= 0) {
      const what = node.name.equals(this.lastName) ? 'duplicate name' : 'names out of order';
      throw invalidArgument(`tree nodes: ${what}: ${JSON.stringify(node.name.toString())} after ${JSON.stringify(this.lastName.toString())}`);
    }
    this.parts.push(encodeNode(node));
    this.lastName = node.name;
  }

  get count(): number {
    return this.parts.length;
  }

  /** The tree blob's bytes. The builder must not be used afterwards. */
  finish(): Buffer {
    return Buffer.from('{"nodes":[' + this.parts.join(',') + ']}\n', 'utf8');
  }
}

/** A tree blob for nodes in any order; duplicate names are an invalid-argument error. */
export function encodeTree(nodes: Iterable<Node>): Buffer {
  const sorted = [...nodes].sort((a, b) => Buffer.compare(a.name, b.name));
  const builder = new TreeBuilder();
  for (const node of sorted) builder.add(node);
  return builder.finish();
}

/**
 * The nodes of a tree blob, in stored order. Like restic, this accepts unknown keys around
 * `nodes`, a null or missing `nodes` (an empty tree) and does not re-check the order; names come
 * back unquoted to raw bytes.
 */
export function decodeTree(data: Uint8Array | string): Node[] {
  const r = typeof data === 'string' ? new JsonReader(data, 'tree') : JsonReader.fromBytes(data, 'tree');
  const nodes: Node[] = [];
  r.beginObject();
  for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) {
    if (key.toLowerCase() !== 'nodes') {
      r.skipValue();
      continue;
    }
    nodes.length = 0;
    if (r.readNull()) continue;
    r.beginArray();
    while (r.nextItem()) nodes.push(readNode(r));
  }
  r.end();
  return nodes;
}
