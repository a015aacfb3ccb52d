// Replacing the index files: new files describing the packs that stay (and any added), the last
// one listing the old files in `supersedes`. Old files are read one at a time, so memory is one
// index file and one batch, whatever the repository's size. Deleting the old files is the
// caller's next step, only after this has resolved: until then both describe the same packs.

import { HoldfastError, messageOf } from '../errors.js';
import { decodeIndexFile, encodeIndexFile, type IndexPack } from '../format/index-file.js';
import { INDEX_FILE_MAX_BLOBS, type Repository } from '../repository/repository.js';

export interface IndexRewriteOptions {
  /** Index files whose packs are carried over. */
  readonly from: readonly string[];
  /** Index files the new ones supersede (default: `from`). */
  readonly supersedes?: readonly string[];
  /** Packs of the old index files left out of the new index. */
  readonly drop: ReadonlySet<string>;
  /** Packs to describe besides those carried over (repair index: read from their headers as this goes). */
  readonly add?: Iterable<IndexPack> | AsyncIterable<IndexPack>;
  /** Supersede index files that cannot be read without carrying anything over (repair); else an error. */
  readonly skipUnreadable?: boolean;
  /** Called as each old index file has been read. */
  readonly onFile?: (done: number) => void;
}

export interface IndexRewriteResult {
  /** The new index files. */
  readonly written: string[];
  /** Packs the new index files describe. */
  readonly packs: number;
}

export async function rewriteIndex(repo: Repository, options: IndexRewriteOptions): Promise<IndexRewriteResult> {
  const written: string[] = [];
  const described = new Set<string>();
  let batch: IndexPack[] = [];
  let blobs = 0;
  const save = async (supersedes: readonly string[]) => {
    written.push(await repo.saveUnpacked('index', encodeIndexFile({ supersedes, packs: batch })));
    batch = [];
    blobs = 0;
  };
  const take = async (p: IndexPack) => {
    if (described.has(p.id)) return;
    described.add(p.id);
    if (blobs > 0 && blobs + p.blobs.length > INDEX_FILE_MAX_BLOBS) await save([]);
    batch.push(p);
    blobs += p.blobs.length;
  };

  let done = 0;
  for (const id of options.from) {
    let packs: readonly IndexPack[];
    try {
      packs = decodeIndexFile(await repo.loadUnpacked('index', id)).packs;
    } catch (err) {
      if (!options.skipUnreadable) throw new HoldfastError('ERR_CORRUPT', `index ${id}: ${messageOf(err)}`, { cause: err });
      packs = [];
    }
    for (const p of packs) if (!options.drop.has(p.id)) await take(p);
    options.onFile?.(++done);
  }
  if (options.add) for await (const p of options.add) await take(p);
  await save(options.supersedes ?? options.from);
  return { written, packs: described.size };
}
