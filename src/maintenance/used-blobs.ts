// Finding every blob the snapshots still use: a walk over all trees they reach, each tree loaded
// once, several at a time, recording tree and data blob ids in a compact BlobSet.

import { HoldfastError, messageOf } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import type { BlobSet } from './blob-set.js';
import { treeRefs, type TreeRefs } from './tree-refs.js';

/** Trees loaded at the same time: tree blobs are small, so the walk is bound by round trips. */
const TREE_LOADS = 16;

/**
 * Walks the trees below `root` that `seen` does not hold yet, adding each to `seen` before it is
 * loaded; `visit` gets every newly reached tree's bytes and references. Depth first, so the list
 * of trees waiting stays short.
 */
export async function walkTrees(
  repo: Repository,
  root: string,
  seen: BlobSet,
  visit: (id: string, bytes: Buffer, refs: TreeRefs) => void | Promise<void>,
  concurrency = TREE_LOADS,
): Promise<void> {
  if (!seen.add('tree', root)) return;
  const stack = [root];
  let active = 0;
  let failed = false;
  await new Promise<void>((resolve, reject) => {
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      reject(err);
    };
    const pump = () => {
      while (!failed && active < concurrency && stack.length > 0) {
        const id = stack.pop()!;
        active++;
        repo
          .loadBlob('tree', id)
          .then(async (bytes) => {
            const refs = treeRefs(bytes, id);
            await visit(id, bytes, refs);
            for (const sub of refs.subtrees) if (seen.add('tree', sub)) stack.push(sub);
            active--;
            pump();
          })
          .catch((err: unknown) => fail(new HoldfastError(err instanceof HoldfastError ? err.code : 'ERR_CORRUPT', `unable to load tree ${id}: ${messageOf(err)}`, { cause: err })));
      }
      if (!failed && active === 0 && stack.length === 0) resolve();
    };
    pump();
  });
}

/**
 * Adds to `used` every tree and data blob reachable from the given root trees (restic's
 * FindUsedBlobs). `onRoot` is called as each root's walk completes.
 */
export async function findUsedBlobs(repo: Repository, roots: readonly string[], used: BlobSet, onRoot?: (done: number) => void): Promise<void> {
  let done = 0;
  for (const root of roots) {
    await walkTrees(repo, root, used, (_id, _bytes, refs) => {
      for (const blob of refs.content) used.add('data', blob);
    });
    onRoot?.(++done);
  }
}
