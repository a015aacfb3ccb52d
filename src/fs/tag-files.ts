// restic's --exclude-if-present NAME[:HEADER] and --exclude-caches: a directory holding the tag
// file (beginning with the header, if one is given) keeps only that file; the rest is excluded.

import { lstat, open } from 'node:fs/promises';
import { invalidArgument, isSystemError } from '../errors.js';
import { joinPath } from './paths.js';
import type { WarningSink } from './warning.js';

/** The Cache Directory Tagging Standard's tag, which --exclude-caches looks for. */
export const CACHEDIR_TAG = 'CACHEDIR.TAG:Signature: 8a477f597d28d172789f06886806bc55';

export interface TagRule {
  /** The tag file's name. */
  name: Buffer;
  /** The bytes the tag file must begin with; empty when its presence is enough. */
  header: Buffer;
}

/** Parses NAME[:HEADER]; the header is everything after the first colon. */
export function parseTagRule(spec: string): TagRule {
  if (spec === '') throw invalidArgument('name for exclusion tagfile is empty');
  const colon = spec.indexOf(':');
  if (colon === 0) throw invalidArgument('no name for exclusion tagfile provided');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const header = colon < 0 ? '' : spec.slice(colon + 1);
  return { name: Buffer.from(name, 'utf8'), header: Buffer.from(header, 'utf8') };
}

/**
 * Whether the tag file `dir/NAME`, known to exist, carries the rule's header. A tag file that is
 * too short, unreadable or has another header does not exclude anything, with a warning, as in
 * restic (it follows a symlink here, as restic's os.Open does).
 */
async function hasHeader(rule: TagRule, dir: Buffer, warn: WarningSink): Promise<boolean> {
  if (rule.header.length === 0) return true;
  const path = joinPath(dir, rule.name);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    warn({ path, message: `could not open exclusion tagfile: ${(err as Error).message}`, cause: err });
    return false;
  }
  try {
    const buf = Buffer.alloc(rule.header.length);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got === 0) warn({ path, message: 'invalid (too short) signature in exclusion tagfile' });
    else if (got < buf.length) warn({ path, message: 'could not read signature from exclusion tagfile: unexpected EOF' });
    else if (!buf.equals(rule.header)) warn({ path, message: 'invalid signature in exclusion tagfile' });
    else return true;
    return false;
  } catch (err) {
    warn({ path, message: `could not read signature from exclusion tagfile: ${(err as Error).message}`, cause: err });
    return false;
  } finally {
    await handle.close();
  }
}

/**
 * The rules whose tag is in the directory `dir`, given its entry names: for a directory being
 * walked, without another lstat. Each rule found excludes every entry but its own tag file.
 */
export async function tagsInListing(rules: readonly TagRule[], dir: Buffer, names: readonly Buffer[], warn: WarningSink): Promise<TagRule[]> {
  const found: TagRule[] = [];
  for (const rule of rules) {
    if (names.some((n) => n.equals(rule.name)) && (await hasHeader(rule, dir, warn))) found.push(rule);
  }
  return found;
}

/** The rules whose tag is in `dir`, found with lstat: for the parent of a source path. */
export async function tagsInDirectory(rules: readonly TagRule[], dir: Buffer, warn: WarningSink): Promise<TagRule[]> {
  const found: TagRule[] = [];
  for (const rule of rules) {
    const path = joinPath(dir, rule.name);
    try {
      await lstat(path);
    } catch (err) {
      if (!isSystemError(err, 'ENOENT')) warn({ path, message: `could not access exclusion tagfile: ${(err as Error).message}`, cause: err });
      continue;
    }
    if (await hasHeader(rule, dir, warn)) found.push(rule);
  }
  return found;
}

/** Whether an entry named `name` is excluded by the tags found in its directory. */
export function excludedByTags(found: readonly TagRule[], name: Buffer): boolean {
  for (const rule of found) if (!name.equals(rule.name)) return true;
  return false;
}
