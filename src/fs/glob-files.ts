// Go's filepath.Glob over raw byte paths, which restic applies to each --files-from line: matching
// names of existing files, sorted within each directory, or the path itself when it has no meta.

import { isUtf8 } from 'node:buffer';
import { lstat, readdir, stat } from 'node:fs/promises';
import { compileGlob, hasGlobMeta, type NameTest } from './glob-pattern.js';
import { cleanPath } from './go-path.js';
import { nameText } from './name-text.js';

const SLASH = 0x2f;
// Byte strings as latin1 text keep every byte, and '/', '.' and the meta characters are ASCII.
const latin1 = (b: Buffer): string => b.toString('latin1');

function hasMeta(path: Buffer): boolean {
  return hasGlobMeta(latin1(path));
}

/** A name test for a component; a component that is not UTF-8 is matched byte for byte. */
function nameTest(component: Buffer): NameTest | Buffer {
  if (!isUtf8(component)) return component;
  return compileGlob(component.toString('utf8'));
}

async function isDirectory(path: Buffer): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    // Like Go's glob: a directory that cannot be read contributes no matches.
    return false;
  }
}

/** The entries of `dir` matching the last component, as paths, sorted by name (Go's glob). */
async function globIn(dir: Buffer, component: Buffer, into: Buffer[]): Promise<void> {
  if (!(await isDirectory(dir))) return;
  let names: Buffer[];
  try {
    names = await readdir(dir, { encoding: 'buffer' });
  } catch {
    return;
  }
  const test = nameTest(component);
  for (const name of names.sort(Buffer.compare)) {
    const matches = typeof test === 'function' ? test(nameText(name)) : name.equals(test);
    // Go joins with filepath.Join, which cleans: `./x` becomes `x`.
    if (matches) into.push(Buffer.from(cleanPath(latin1(dir) + '/' + latin1(name)), 'latin1'));
  }
}

/** Splits like filepath.Split, then cleans the directory as Go's cleanGlobPath does. */
function splitGlob(pattern: Buffer): [dir: Buffer, file: Buffer] {
  const slash = pattern.lastIndexOf(SLASH);
  const file = pattern.subarray(slash + 1);
  if (slash < 0) return [Buffer.from('.'), file];
  if (slash === 0) return [pattern.subarray(0, 1), file];
  return [pattern.subarray(0, slash), file];
}

/**
 * The existing paths matching a pattern, as Go's filepath.Glob returns them: the pattern itself
 * when it has no meta characters and exists (lstat), else the matches of each level in sorted
 * order; [] when nothing matches. Throws for a malformed pattern. A pattern component that is
 * not valid UTF-8 matches only itself.
 */
export async function globFiles(pattern: Buffer): Promise<Buffer[]> {
  // Go checks the whole pattern first, so a malformed part anywhere is an error.
  if (isUtf8(pattern)) compileGlob(pattern.toString('utf8'));
  if (!hasMeta(pattern)) {
    try {
      await lstat(pattern);
      return [pattern];
    } catch {
      return [];
    }
  }
  const [dir, file] = splitGlob(pattern);
  const matches: Buffer[] = [];
  if (!hasMeta(dir)) {
    await globIn(dir, file, matches);
    return matches;
  }
  for (const parent of await globFiles(dir)) await globIn(parent, file, matches);
  return matches;
}
