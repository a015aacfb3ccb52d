// ls: the nodes of a snapshot, all of them or those inside given directories (one level, or every
// level with `recursive`), walking only the trees that can lead to a wanted directory.

import { posix } from 'node:path';
import { invalidArgument } from '../errors.js';
import type { Node } from '../format/node.js';
import type { Repository } from '../repository/repository.js';
import { walkTree } from './tree-walk.js';

export interface ListOptions {
  /** Absolute directories inside the snapshot; empty lists everything. */
  readonly dirs: readonly string[];
  readonly recursive: boolean;
}

/** restic's HasPathPrefix: `p` is `base` or lies below it (both cleaned, both absolute or both not). */
export function hasPathPrefix(base: string, p: string): boolean {
  if (posix.isAbsolute(base) !== posix.isAbsolute(p)) return false;
  const b = posix.normalize(base).replace(/(.)\/+$/, '$1');
  const q = posix.normalize(p).replace(/(.)\/+$/, '$1');
  if (b === q) return true;
  return q.startsWith(b === '/' ? '/' : b + '/');
}

export function checkListDirs(dirs: readonly string[]): void {
  for (const dir of dirs) {
    if (!dir.startsWith('/')) throw invalidArgument(`All path filters must be absolute, starting with a forward slash '/' (got "${dir}")`);
  }
}

/** Calls `onNode` for each listed node, in walking order. */
export async function listNodes(repo: Repository, tree: string, options: ListOptions, onNode: (path: string, node: Node) => void): Promise<void> {
  checkListDirs(options.dirs);
  const { dirs, recursive } = options;
  const within = (path: string) => dirs.length === 0 || dirs.some((dir) => hasPathPrefix(dir, path));
  const approaching = (path: string) => dirs.length === 0 || dirs.some((dir) => hasPathPrefix(path, dir));
  await walkTree(repo, tree, ({ path, node }) => {
    if (within(path)) {
      onNode(path, node);
      if (recursive) return true;
    }
    return approaching(path);
  });
}
