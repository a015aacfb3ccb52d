// Paths inside a snapshot: the `SNAPSHOT:SUBPATH` form restic 0.17 accepts, and looking a path up
// tree by tree to the node it names (the root directory has no node, only its tree).

import { HoldfastError } from '../errors.js';
import type { Node } from '../format/node.js';
import { loadTree } from '../repository/trees.js';
import type { Repository } from '../repository/repository.js';

/** `latest:/home/user` → latest and /home/user; without a colon the whole snapshot (`/`). */
export function splitSnapshotSpec(spec: string): { snapshot: string; subpath: string } {
  const colon = spec.indexOf(':');
  if (colon < 0) return { snapshot: spec, subpath: '/' };
  return { snapshot: spec.slice(0, colon), subpath: spec.slice(colon + 1) || '/' };
}

/** The names of a slash-separated path inside a snapshot; `.` and empty parts are dropped. */
export function pathComponents(path: string): Buffer[] {
  const names: Buffer[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new HoldfastError('ERR_INVALID_ARGUMENT', `"${path}": a path inside a snapshot cannot contain ".."`);
    names.push(Buffer.from(part, 'utf8'));
  }
  return names;
}

export interface FoundNode {
  /** The node at the path; undefined for the snapshot's root directory. */
  readonly node: Node | undefined;
  /** The tree of the directory at the path, when it is one. */
  readonly tree: string | undefined;
  /** The path, normalised: `/` or `/a/b`. */
  readonly path: string;
}

/** Walks from the tree `root` down `path`; a missing part or a non-directory on the way is an error. */
export async function findNode(repo: Repository, root: string, path: string): Promise<FoundNode> {
  const names = pathComponents(path);
  let tree = root;
  let node: Node | undefined;
  let walked = '';
  for (const [i, name] of names.entries()) {
    const nodes = await loadTree(repo, tree);
    node = nodes.find((n) => n.name.equals(name));
    walked += '/' + name.toString('utf8');
    if (!node) throw new HoldfastError('ERR_NOT_FOUND', `path "${walked}" not found in snapshot`);
    if (node.type === 'dir') {
      if (node.subtree === null) throw new HoldfastError('ERR_CORRUPT', `directory "${walked}" has no subtree`);
      tree = node.subtree;
    } else if (i < names.length - 1) {
      throw new HoldfastError('ERR_INVALID_ARGUMENT', `"${walked}" should be a directory, but is a ${node.type}`);
    }
  }
  return { node, tree: node === undefined || node.type === 'dir' ? tree : undefined, path: walked || '/' };
}
