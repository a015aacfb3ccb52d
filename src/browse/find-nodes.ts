// find: the nodes of snapshots whose path matches one of restic's patterns, optionally within a
// modification-time window. Subtrees that held no match are not walked again in later snapshots.

import type { Node } from '../format/node.js';
import { loadTree } from '../repository/trees.js';
import type { Repository } from '../repository/repository.js';
import { childMayMatch, matchPath, parsePathPattern, type PathPattern } from './path-pattern.js';
import { SubtreePrefetch } from './subtree-prefetch.js';
import { joinPath, nodeName, sortedNodes } from './tree-walk.js';

export interface FindOptions {
  readonly patterns: readonly string[];
  /** Compare lower-cased patterns with lower-cased paths. */
  readonly ignoreCase: boolean;
  /** Only nodes modified at or after this instant (ns since the epoch). */
  readonly oldest?: bigint;
  /** Only nodes modified at or before this instant. */
  readonly newest?: bigint;
}

export type MatchHandler = (path: string, node: Node) => void;

export class NodeFinder {
  private readonly patterns: PathPattern[];
  /**
   * Subtrees already searched without a match, keyed by tree id and path: what matches depends on
   * both, and most directories of the next snapshot are the same tree at the same path.
   */
  private readonly barren = new Set<string>();

  constructor(
    private readonly repo: Repository,
    private readonly options: FindOptions,
  ) {
    this.patterns = options.patterns.map((p) => parsePathPattern(options.ignoreCase ? p.toLowerCase() : p));
  }

  /** Reports every match in the tree of one snapshot, in walking order; returns how many. */
  async find(tree: string, onMatch: MatchHandler): Promise<number> {
    return this.search(await loadTree(this.repo, tree), '/', onMatch);
  }

  private inWindow(node: Node): boolean {
    const t = node.mtime.ns;
    if (this.options.oldest !== undefined && t < this.options.oldest) return false;
    if (this.options.newest !== undefined && t > this.options.newest) return false;
    return true;
  }

  private async search(loaded: Node[], dir: string, onMatch: MatchHandler): Promise<number> {
    let hits = 0;
    const nodes = sortedNodes(loaded);
    const ahead = new SubtreePrefetch(this.repo, nodes);
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      const path = joinPath(dir, nodeName(node));
      const compared = this.options.ignoreCase ? path.toLowerCase() : path;
      const matched = this.patterns.some((p) => matchPath(p, compared)) && this.inWindow(node);
      if (matched) {
        onMatch(path, node);
        hits++;
      }
      if (node.type !== 'dir' || node.subtree === null) continue;
      const key = node.subtree + path;
      if ((!matched && !this.patterns.some((p) => childMayMatch(p, compared))) || this.barren.has(key)) {
        ahead.skip(i);
        continue;
      }
      const below = await this.search(await ahead.take(i), path, onMatch);
      if (below === 0) this.barren.add(key);
      hits += below;
    }
    return hits;
  }
}
