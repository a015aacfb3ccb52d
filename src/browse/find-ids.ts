// find --blob/--tree/--pack: where in the snapshots given blobs, trees or the blobs of given packs
// are used, with ids given in full or as the 8-character short form, as restic accepts them.

import { HoldfastError } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { walkTree } from './tree-walk.js';

export interface IdHit {
  readonly kind: 'blob' | 'tree';
  /** The full id. */
  readonly id: string;
  /** The file using the blob, or the directory whose tree it is. */
  readonly path: string;
  /** For blobs: the tree holding the file's node. */
  readonly parentTree?: string;
}

const SHORT = 8;

function takeId(wanted: Set<string>, id: string): boolean {
  if (wanted.has(id)) return true;
  const short = id.slice(0, SHORT);
  if (!wanted.has(short)) return false;
  // Later reports (and --show-pack-id) name the object by its full id.
  wanted.delete(short);
  wanted.add(id);
  return true;
}

export class IdFinder {
  /** Trees reported so far over all snapshots; once all were seen a tree search stops early. */
  private treesFound = 0;

  constructor(
    readonly blobIds: Set<string> | undefined,
    readonly treeIds: Set<string> | undefined,
  ) {}

  /**
   * The blob ids in packs given by full or short id: read from each pack's header, or from the
   * index for packs whose file is missing (reported through `warn`).
   */
  static async blobsOfPacks(repo: Repository, packs: readonly string[], warn: (message: string) => void): Promise<Set<string>> {
    const wanted = new Set(packs);
    const blobs = new Set<string>();
    for await (const f of repo.list('data')) {
      if (wanted.size === 0) break;
      if (!takeId(wanted, f.name)) continue;
      wanted.delete(f.name);
      for (const b of await repo.readPackHeader(f.name, f.size)) blobs.add(b.id);
    }
    if (wanted.size > 0) {
      await repo.loadIndex();
      const fromIndex = new Set<string>();
      for (const b of repo.index.entries()) {
        if (wanted.has(b.packId) || wanted.has(b.packId.slice(0, SHORT))) {
          blobs.add(b.id);
          fromIndex.add(b.packId);
        }
      }
      for (const p of fromIndex) {
        wanted.delete(p);
        wanted.delete(p.slice(0, SHORT));
      }
      if (fromIndex.size > 0) warn(`some pack files are missing from the repository, getting their blobs from the repository index: [${[...fromIndex].join(' ')}]`);
    }
    if (wanted.size > 0) throw new HoldfastError('ERR_NOT_FOUND', `unable to find pack(s): [${[...wanted].sort().join(' ')}]`);
    return blobs;
  }

  /** Reports each use of a wanted id in one snapshot's tree, in walking order. */
  async find(repo: Repository, tree: string, onHit: (hit: IdHit) => void): Promise<void> {
    const { blobIds, treeIds } = this;
    await walkTree(repo, tree, ({ path, node, parentTree }) => {
      if (node.type === 'dir' && node.subtree !== null && treeIds && takeId(treeIds, node.subtree)) {
        onHit({ kind: 'tree', id: node.subtree, path });
        this.treesFound++;
        if (this.treesFound >= treeIds.size && !blobIds) return 'stop';
      }
      if (node.type === 'file' && blobIds) {
        for (const id of node.content ?? []) if (takeId(blobIds, id)) onHit({ kind: 'blob', id, path, parentTree });
      }
      return true;
    });
  }
}
