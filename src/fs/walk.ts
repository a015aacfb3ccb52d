// A depth-first walk of source paths in tree order, applying the exclude rules the way restic's
// archiver and scanner do: what a backup would contain, for scans, dry runs and tests.

import type { BigIntStats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { PosixMode } from '../format/file-mode.js';
import type { DirectoryRules, ExcludeRules } from './exclude-rules.js';
import { listDirectory } from './list-directory.js';
import { baseName, joinPath } from './paths.js';
import type { WarningSink } from './warning.js';

export interface WalkEntry {
  path: Buffer;
  name: Buffer;
  st: BigIntStats;
  /** 0 for a source path. */
  depth: number;
}

/** How many lstat calls of one directory are in flight at once. */
const STAT_BATCH = 128;

const isDir = (st: BigIntStats): boolean => (Number(st.mode) & PosixMode.typeMask) === PosixMode.dir;

/** lstat, or undefined with a warning when the entry vanished or cannot be read (restic goes on too). */
async function statOrWarn(path: Buffer, warn: WarningSink): Promise<BigIntStats | undefined> {
  try {
    return await lstat(path, { bigint: true });
  } catch (err) {
    warn({ path, message: `cannot lstat: ${(err as Error).message}`, cause: err });
    return undefined;
  }
}

async function listOrWarn(path: Buffer, warn: WarningSink): Promise<Buffer[] | undefined> {
  try {
    return await listDirectory(path);
  } catch (err) {
    warn({ path, message: `cannot read directory: ${(err as Error).message}`, cause: err });
    return undefined;
  }
}

async function* walkDirectory(dir: Buffer, dirRules: DirectoryRules, names: Buffer[], depth: number, rules: ExcludeRules, warn: WarningSink): AsyncGenerator<WalkEntry> {
  const kept = rules.isEmpty ? names : names.filter((name) => !dirRules.excludesName(name));
  for (let start = 0; start < kept.length; start += STAT_BATCH) {
    const batch = kept.slice(start, start + STAT_BATCH);
    const paths = batch.map((name) => joinPath(dir, name));
    const stats = await Promise.all(paths.map((path) => statOrWarn(path, warn)));
    for (let i = 0; i < batch.length; i++) {
      const st = stats[i];
      if (st === undefined || (!rules.isEmpty && dirRules.excludesStat(st))) continue;
      const name = batch[i]!;
      const path = paths[i]!;
      yield { path, name, st, depth };
      if (!isDir(st)) continue;
      const childNames = await listOrWarn(path, warn);
      if (childNames === undefined) continue;
      yield* walkDirectory(path, await dirRules.subdirectory(name, st, childNames), childNames, depth + 1, rules, warn);
    }
  }
}

/**
 * Every entry a backup of `sources` (absolute, clean) would contain, each directory before its
 * contents and the contents in name order. Entries that vanish or cannot be read are warnings.
 * Sockets are included: restic 0.14 leaves them out of a backup, so a backup skips them.
 */
export async function* walk(sources: readonly Buffer[], rules: ExcludeRules, warn: WarningSink): AsyncGenerator<WalkEntry> {
  for (const source of sources) {
    const st = await statOrWarn(source, warn);
    if (st === undefined || (!rules.isEmpty && (await rules.excludesSource(source, st)))) continue;
    yield { path: source, name: baseName(source), st, depth: 0 };
    if (!isDir(st)) continue;
    const names = await listOrWarn(source, warn);
    if (names === undefined) continue;
    yield* walkDirectory(source, await rules.sourceDirectory(source, st, names), names, 1, rules, warn);
  }
}
