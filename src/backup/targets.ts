// The shape of a snapshot's root, built from the paths given to backup the way restic builds it:
// /srv/data/sub becomes srv → data → sub; a relative a/b becomes a → b; "." puts the current
// directory's entries at the root; a path inside another given path is covered by it.

import { normalize, resolve, sep } from 'node:path';
import { HoldfastError } from '../errors.js';

export interface TargetNode {
  readonly name: Buffer;
  /** Where the entry is on disk. */
  readonly path: Buffer;
  /** Back up everything below this entry (it was given on the command line). */
  target: boolean;
  readonly children: Map<string, TargetNode>;
}

function components(path: string): string[] {
  return path.split(sep).filter((c) => c !== '' && c !== '.' && c !== '..');
}

/** The root of the snapshot tree; when `target` is set, the root itself was given ("."). */
export function buildTargetTree(paths: readonly string[], cwd = process.cwd()): TargetNode {
  const root: TargetNode = { name: Buffer.alloc(0), path: Buffer.from(cwd), target: false, children: new Map() };
  for (const given of paths) {
    const normalized = normalize(given);
    const parts = components(normalized);
    const absolute = given.startsWith(sep);
    if (parts.length === 0) {
      if (absolute) throw new HoldfastError('ERR_INVALID_ARGUMENT', 'backing up "/" itself is not supported: give the directories below it');
      root.target = true;
      continue;
    }
    // Each intermediate entry keeps the real path it stands for, so its metadata is the real one.
    const leadingUp = absolute ? '' : normalized.split(sep).filter((c) => c === '..').map(() => '..' + sep).join('');
    let base = absolute ? sep : resolve(cwd, leadingUp) + sep;
    let node = root;
    for (const part of parts) {
      const key = Buffer.from(part).toString('latin1');
      let child = node.children.get(key);
      base = base.endsWith(sep) ? base + part : base + sep + part;
      if (!child) {
        child = { name: Buffer.from(part), path: Buffer.from(base), target: false, children: new Map() };
        node.children.set(key, child);
      }
      node = child;
    }
    node.target = true;
  }
  return root;
}

/** Absolute, de-duplicated, sorted source paths as the snapshot records them. */
export function snapshotPaths(paths: readonly string[], cwd = process.cwd()): string[] {
  return [...new Set(paths.map((p) => resolve(cwd, p)))].sort();
}
