// A local copy of the master index as it is in memory, so that a command does not decrypt, parse
// and insert every blob of every index file each time (a third of a second for the Linux tree).
// Sealed with the master key. It is used only while every index file it was made from is still
// in the repository (prune and repair delete index files); index files added since are read on
// top of it. Anything wrong with it means the index is read from the repository, as without it.

import type { CryptoKey } from '../format/crypto.js';
import { idToBytes } from '../format/id.js';
import { cacheFile, readSealedFile, writeSealedFile } from './local-cache.js';
import type { MasterIndex } from './master-index.js';

const MAGIC = Buffer.from('hfindex1');
const ID_SIZE = 32;

/** The index cache file of a repository location. */
export function indexCacheFile(cacheDir: string, location: string): string {
  return cacheFile(cacheDir, 'index', location);
}

export interface CachedIndex {
  /** The master index's table (MasterIndex.fillFrom). */
  readonly table: Buffer;
  /** The index files it holds. */
  readonly indexFiles: ReadonlySet<string>;
}

export async function readIndexCache(file: string, key: CryptoKey): Promise<CachedIndex | undefined> {
  const data = await readSealedFile(file, key);
  if (!data || data.length < MAGIC.length + 4 || !data.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const files = data.readUInt32LE(MAGIC.length);
  const tableAt = MAGIC.length + 4 + files * ID_SIZE;
  if (tableAt > data.length) return undefined;
  const indexFiles = new Set<string>();
  for (let at = MAGIC.length + 4; at < tableAt; at += ID_SIZE) indexFiles.add(data.toString('hex', at, at + ID_SIZE));
  return { table: data.subarray(tableAt), indexFiles };
}

/** Writes the cache atomically; false when the index cannot be cached (duplicate blob locations). */
export async function writeIndexCache(file: string, key: CryptoKey, index: MasterIndex, indexFiles: Iterable<string>): Promise<boolean> {
  const table = index.toBytes();
  if (!table) return false;
  const ids = [...indexFiles].map(idToBytes);
  const count = Buffer.allocUnsafe(4);
  count.writeUInt32LE(ids.length, 0);
  await writeSealedFile(file, key, [MAGIC, count, ...ids, ...table]);
  return true;
}
