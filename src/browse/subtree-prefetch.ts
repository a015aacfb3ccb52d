// Loading a directory's subtrees a few entries ahead of a depth-first walk: each tree costs a read
// and a trip through the crypto workers, and waiting for them one by one leaves both mostly idle.

import type { Node } from '../format/node.js';
import { loadTree } from '../repository/trees.js';
import type { Repository } from '../repository/repository.js';

/** Subtrees loading at once per directory being walked; the walk holds at most depth × this many. */
const WINDOW = 8;

export class SubtreePrefetch {
  private readonly pending = new Map<number, Promise<Node[]>>();
  private next = 0;

  constructor(
    private readonly repo: Repository,
    private readonly nodes: readonly Node[],
  ) {
    this.fill();
  }

  private fill(): void {
    while (this.pending.size < WINDOW && this.next < this.nodes.length) {
      const i = this.next++;
      const subtree = this.nodes[i]!.subtree;
      if (this.nodes[i]!.type !== 'dir' || subtree === null) continue;
      const loading = loadTree(this.repo, subtree);
      // A failure is reported to whoever takes the tree; one that is skipped is of no interest.
      loading.catch(() => undefined);
      this.pending.set(i, loading);
    }
  }

  /** The subtree of directory entry `i`, loaded ahead or now. */
  take(i: number): Promise<Node[]> {
    const loading = this.pending.get(i);
    this.pending.delete(i);
    this.fill();
    return loading ?? loadTree(this.repo, this.nodes[i]!.subtree!);
  }

  /** Entry `i` will not be walked into: make room for the next ones. */
  skip(i: number): void {
    if (this.pending.delete(i)) this.fill();
  }
}
