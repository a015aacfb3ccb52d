// Depth-first walks over a snapshot's directory trees in name order, as restic's walker visits
// them: a directory's node comes before its contents. Only the trees on the current path are held.

import { corrupt } from '../errors.js';
import { compareNames } from '../format/tree.js';
import type { Node } from '../format/node.js';
import { loadTree } from '../repository/trees.js';
import { SubtreePrefetch } from './subtree-prefetch.js';
import type { Repository } from '../repository/repository.js';

export interface Visit {
  /** Slash-separated path from the snapshot's root, e.g. `/home/user/file`. */
  readonly path: string;
  readonly node: Node;
  /** The tree blob holding this node. */
  readonly parentTree: string;
}

/**
 * Called for every node; for a directory, its answer says whether to walk into it. `stop` ends the
 * whole walk after this node.
 */
export type Visitor = (visit: Visit) => boolean | 'stop' | Promise<boolean | 'stop'>;

/** A node's name as text; bytes that are not UTF-8 show as U+FFFD. */
export function nodeName(node: Node): string {
  return node.name.toString('utf8');
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? '/' + name : dir + '/' + name;
}

/** Nodes in restic's walking order: by name bytes (stored trees already are, this makes sure). */
export function sortedNodes(nodes: Node[]): Node[] {
  for (let i = 1; i < nodes.length; i++) {
    if (compareNames(nodes[i - 1]!.name, nodes[i]!.name) > 0) return nodes.sort((a, b) => compareNames(a.name, b.name));
  }
  return nodes;
}

/** Walks the tree `treeId` whose directory is `dir`; resolves false if a visitor said `stop`. */
export async function walkTree(repo: Repository, treeId: string, visitor: Visitor, dir = '/'): Promise<boolean> {
  return walkNodes(repo, treeId, await loadTree(repo, treeId), visitor, dir);
}

async function walkNodes(repo: Repository, treeId: string, loaded: Node[], visitor: Visitor, dir: string): Promise<boolean> {
  const nodes = sortedNodes(loaded);
  const ahead = new SubtreePrefetch(repo, nodes);
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    const path = joinPath(dir, nodeName(node));
    const answer = await visitor({ path, node, parentTree: treeId });
    if (answer === 'stop') return false;
    if (node.type !== 'dir') continue;
    if (!answer) {
      ahead.skip(i);
      continue;
    }
    if (node.subtree === null) throw corrupt(`tree ${treeId}: directory ${path} has no subtree`);
    if (!(await walkNodes(repo, node.subtree, await ahead.take(i), visitor, path))) return false;
  }
  return true;
}
