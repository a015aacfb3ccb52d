// Every blob the snapshots use, into a compact BlobSet: trees are walked level by level, and each
// level's trees are read pack by pack in few ranged reads, whatever order they were written in.

import { forEachLimited } from '../concurrency.js';
import { HoldfastError, messageOf } from '../errors.js';
import type { BlobLocation } from '../repository/master-index.js';
import type { Repository } from '../repository/repository.js';
import type { BlobSet } from './blob-set.js';
import { treeRefs, type TreeRefs } from './tree-refs.js';

/** Reads running at the same time. */
const READS = 8;
/** Bytes of unneeded trees read rather than skipped with another request. */
const MAX_GAP = 256 * 1024;
/** Bytes read at once. */
const MAX_RUN = 4 * 1024 * 1024;

function runs(locs: BlobLocation[]): BlobLocation[][] {
  locs.sort((a, b) => a.offset - b.offset);
  const out: BlobLocation[][] = [];
  let run: BlobLocation[] = [];
  for (const loc of locs) {
    const first = run[0];
    const last = run.at(-1);
    if (first && last && (loc.offset - (last.offset + last.length) > MAX_GAP || loc.offset + loc.length - first.offset > MAX_RUN)) {
      out.push(run);
      run = [];
    }
    run.push(loc);
  }
  if (run.length > 0) out.push(run);
  return out;
}

function loadError(id: string, err: unknown): HoldfastError {
  return new HoldfastError(err instanceof HoldfastError ? err.code : 'ERR_CORRUPT', `unable to load tree ${id}: ${messageOf(err)}`, { cause: err });
}

/**
 * Walks the trees below `root` that `seen` does not hold yet, adding each to `seen` before it is
 * loaded; `visit` gets every newly reached tree's bytes (exactly as stored) and references.
 */
export async function walkTrees(
  repo: Repository,
  root: string,
  seen: BlobSet,
  visit: (id: string, bytes: Buffer, refs: TreeRefs) => void | Promise<void>,
): Promise<void> {
  if (!seen.add('tree', root)) return;
  let level = [root];
  while (level.length > 0) {
    const next: string[] = [];
    const byPack = new Map<string, BlobLocation[]>();
    for (const id of level) {
      const loc = repo.index.lookup('tree', id);
      if (!loc) throw loadError(id, new HoldfastError('ERR_NOT_FOUND', 'the tree blob is not in the index'));
      const list = byPack.get(loc.packId);
      if (list) list.push(loc);
      else byPack.set(loc.packId, [loc]);
    }
    const work = [...byPack.values()].flatMap(runs);
    await forEachLimited(work, READS, async (run) => {
      const first = run[0]!;
      const last = run.at(-1)!;
      let data: Buffer | undefined;
      try {
        data = await repo.backend.read({ type: 'data', name: first.packId }, { offset: first.offset, length: last.offset + last.length - first.offset });
      } catch {
        // Each tree is then looked for wherever the index knows a copy.
      }
      for (const loc of run) {
        let bytes: Buffer;
        try {
          const at = loc.offset - first.offset;
          // Trees are small: opening them here costs less than a round trip to a worker.
          bytes = data ? repo.openBlobHere(data.subarray(at, at + loc.length), loc.uncompressedLength, loc.id) : await repo.loadBlob('tree', loc.id);
        } catch {
          try {
            bytes = await repo.loadBlob('tree', loc.id);
          } catch (err) {
            throw loadError(loc.id, err);
          }
        }
        const refs = treeRefs(bytes, loc.id);
        await visit(loc.id, bytes, refs);
        for (const sub of refs.subtrees) if (seen.add('tree', sub)) next.push(sub);
      }
    });
    level = next;
  }
}

/**
 * Adds to `used` every tree and data blob reachable from the given root trees (restic's
 * FindUsedBlobs). `onRoot` is called as each root's walk completes, `onTree` with each tree's size.
 */
export async function findUsedBlobs(repo: Repository, roots: readonly string[], used: BlobSet, onRoot?: (done: number) => void, onTree?: (bytes: number) => void): Promise<void> {
  let done = 0;
  for (const root of roots) {
    await walkTrees(repo, root, used, (_id, bytes, refs) => {
      for (const blob of refs.content) used.add('data', blob);
      onTree?.(bytes.length);
    });
    onRoot?.(++done);
  }
}
