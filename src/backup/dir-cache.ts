// The directory cache: for one backup set (repository, host, paths), the fingerprint and tree of
// every directory of the last snapshot whose walk reported nothing. A local file, encrypted and
// authenticated with the repository's master key like everything in the repository; a missing,
// damaged or stale file only means the next backup walks everything, as without it.
//
// It is trusted only for the snapshot it was written after (the next backup's parent, whose trees
// are in the repository) and only while every index file it saw is still there: prune and
// repair rewrite the index, and may have removed blobs those trees need.

import { corrupt } from '../errors.js';
import type { CryptoKey } from '../format/crypto.js';
import { idToBytes } from '../format/id.js';
import { cacheFile, readSealedFile, writeSealedFile } from '../repository/local-cache.js';
import { FINGERPRINT_SIZE } from './dir-fingerprint.js';

export interface CachedDir {
  readonly fingerprint: Buffer;
  readonly tree: string;
  /** Regular files, directories and file bytes below it, for the summary's counters. */
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
}

export interface DirCache {
  /** The snapshot whose trees these are. */
  readonly snapshot: string;
  /** The index files present when it was written. */
  readonly indexFiles: readonly string[];
  /** By path (pathKey). */
  readonly dirs: ReadonlyMap<string, CachedDir>;
}

const MAGIC = Buffer.from('hfdirs01');
const ID_SIZE = 32;
/** files (u32), dirs (u32), bytes (f64). */
const COUNTS_SIZE = 16;

/** A path as a map key: its bytes one to one, whatever their encoding. */
export const pathKey = (path: Buffer): string => path.toString('latin1');

/** The cache file of a backup set. Its name reveals none of what it is for. */
export function dirCacheFile(cacheDir: string, location: string, host: string, paths: readonly string[]): string {
  return cacheFile(cacheDir, 'dirs', location, host, ...paths);
}

export function encodeDirCache(cache: DirCache): Buffer {
  const parts: Buffer[] = [MAGIC, idToBytes(cache.snapshot), u32(cache.indexFiles.length), ...cache.indexFiles.map(idToBytes), u32(cache.dirs.size)];
  for (const [key, dir] of cache.dirs) {
    const path = Buffer.from(key, 'latin1');
    const fixed = Buffer.allocUnsafe(COUNTS_SIZE);
    fixed.writeUInt32LE(dir.files, 0);
    fixed.writeUInt32LE(dir.dirs, 4);
    fixed.writeDoubleLE(dir.bytes, 8);
    parts.push(u32(path.length), path, dir.fingerprint, idToBytes(dir.tree), fixed);
  }
  return Buffer.concat(parts);
}

export function decodeDirCache(data: Buffer): DirCache {
  let at = 0;
  const take = (n: number): Buffer => {
    if (at + n > data.length) throw corrupt('directory cache is truncated');
    const b = data.subarray(at, at + n);
    at += n;
    return b;
  };
  const count = () => take(4).readUInt32LE(0);
  if (!take(MAGIC.length).equals(MAGIC)) throw corrupt('not a directory cache');
  const snapshot = take(ID_SIZE).toString('hex');
  const indexFiles = Array.from({ length: count() }, () => take(ID_SIZE).toString('hex'));
  const dirs = new Map<string, CachedDir>();
  for (let n = count(); n > 0; n--) {
    const key = take(count()).toString('latin1');
    const fingerprint = Buffer.from(take(FINGERPRINT_SIZE));
    const tree = take(ID_SIZE).toString('hex');
    const fixed = take(COUNTS_SIZE);
    dirs.set(key, { fingerprint, tree, files: fixed.readUInt32LE(0), dirs: fixed.readUInt32LE(4), bytes: fixed.readDoubleLE(8) });
  }
  if (at !== data.length) throw corrupt('directory cache has trailing bytes');
  return { snapshot, indexFiles, dirs };
}

/** The cache in `file`, or undefined when there is none or it cannot be read with this key. */
export async function readDirCache(file: string, key: CryptoKey): Promise<DirCache | undefined> {
  const data = await readSealedFile(file, key);
  try {
    return data && decodeDirCache(data);
  } catch {
    return undefined;
  }
}

export async function writeDirCache(file: string, key: CryptoKey, cache: DirCache): Promise<void> {
  await writeSealedFile(file, key, encodeDirCache(cache));
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n, 0);
  return b;
}
