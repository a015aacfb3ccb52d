// Trees as the rest of holdfast sees them: decoded nodes loaded by id, and walks over a snapshot's
// directory hierarchy that visit each tree once.

import { decodeTree } from '../format/tree.js';
import type { Node } from '../format/node.js';
import { corrupt } from '../errors.js';
import type { Repository } from './repository.js';

export async function loadTree(repo: Repository, id: string): Promise<Node[]> {
  const bytes = await repo.loadBlob('tree', id);
  try {
    return decodeTree(bytes);
  } catch (err) {
    throw corrupt(`tree ${id}: ${(err as Error).message}`, err);
  }
}

/** Saves a tree blob (already encoded) and returns its id. */
export async function saveTree(repo: Repository, encoded: Buffer): Promise<string> {
  return (await repo.saveBlob('tree', encoded)).id;
}
