// Writing the index files that replace all others: packs come one at a time and the last file lists
// the old ones in `supersedes`; the caller deletes the old files only after this has resolved.

import type { IndexPack } from '../format/index-file.js';
import { INDEX_FILE_MAX_BLOBS, type Repository } from '../repository/repository.js';

export interface IndexWriteOptions {
  /** The packs the new index describes, each once. */
  readonly packs: Iterable<IndexPack> | AsyncIterable<IndexPack>;
  /** Index files the new ones supersede. */
  readonly supersedes: readonly string[];
  /** Called after each pack, with the number of packs so far. */
  readonly onPack?: (done: number) => void;
  /** Called after each index file is written. */
  readonly onFile?: (id: string) => void;
}

export interface IndexWriteResult {
  /** The new index files. */
  readonly written: string[];
  /** Packs the new index files describe. */
  readonly packs: number;
}

export async function writeIndexFiles(repo: Repository, options: IndexWriteOptions): Promise<IndexWriteResult> {
  const written: string[] = [];
  let batch: IndexPack[] = [];
  let blobs = 0;
  let packs = 0;
  const save = async (supersedes: readonly string[]) => {
    const id = await repo.saveIndexFile({ supersedes, packs: batch });
    written.push(id);
    batch = [];
    blobs = 0;
    options.onFile?.(id);
  };
  for await (const p of options.packs) {
    if (blobs > 0 && blobs + p.blobs.length > INDEX_FILE_MAX_BLOBS) await save([]);
    batch.push(p);
    blobs += p.blobs.length;
    options.onPack?.(++packs);
  }
  await save(options.supersedes);
  return { written, packs };
}
