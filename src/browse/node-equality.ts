// When two nodes are "the same" for diff: restic 0.14's Node.Equals (every field, times as
// instants, extended attributes as a set) and its content comparison, where null differs from [].

import type { ExtendedAttribute, Node } from '../format/node.js';

/** reflect.DeepEqual on two content lists: a nil list equals only a nil list. */
export function sameContent(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  // bytes.Equal treats nil and empty alike.
  return (a ?? Buffer.alloc(0)).equals(b ?? Buffer.alloc(0));
}

function sameAttributes(a: readonly ExtendedAttribute[], b: readonly ExtendedAttribute[]): boolean {
  if (a.length !== b.length) return false;
  const values = new Map(a.map((x) => [x.name, x.value]));
  const seen = new Set<string>();
  for (const attr of b) {
    if (!values.has(attr.name) || !sameBytes(values.get(attr.name)!, attr.value)) return false;
    seen.add(attr.name);
  }
  return seen.size === values.size;
}

export function nodesEqual(a: Node, b: Node): boolean {
  return (
    a.name.equals(b.name) &&
    a.type === b.type &&
    a.mode === b.mode &&
    a.mtime.ns === b.mtime.ns &&
    a.atime.ns === b.atime.ns &&
    a.ctime.ns === b.ctime.ns &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.user === b.user &&
    a.group === b.group &&
    a.inode === b.inode &&
    a.deviceId === b.deviceId &&
    a.size === b.size &&
    a.links === b.links &&
    a.linkTarget.equals(b.linkTarget) &&
    a.device === b.device &&
    sameContent(a.content, b.content) &&
    sameAttributes(a.extendedAttributes, b.extendedAttributes) &&
    a.subtree === b.subtree &&
    a.error === b.error
  );
}
