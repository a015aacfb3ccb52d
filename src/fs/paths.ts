// Paths as raw bytes: Linux file names are any bytes but '/' and NUL, so paths stay Buffers from
// readdir to the tree node, and strings appear only where an API or a pattern needs one.

import { cleanPath } from './go-path.js';

const SLASH = 0x2f;

/** `dir/name`, with no doubled slash when dir is `/`. */
export function joinPath(dir: Buffer, name: Buffer): Buffer {
  const slash = dir.length > 0 && dir[dir.length - 1] !== SLASH ? 1 : 0;
  const out = Buffer.allocUnsafe(dir.length + slash + name.length);
  dir.copy(out, 0);
  if (slash === 1) out[dir.length] = SLASH;
  name.copy(out, dir.length + slash);
  return out;
}

/** The last element of a clean path (`/` for the root), as Go's filepath.Base. */
export function baseName(path: Buffer): Buffer {
  let end = path.length;
  while (end > 1 && path[end - 1] === SLASH) end--;
  const start = path.lastIndexOf(SLASH, end - 1) + 1;
  if (start === end) return path.subarray(0, Math.min(end, 1));
  return path.subarray(start, end);
}

/** Everything before the last element of a clean absolute path, as Go's filepath.Dir. */
export function dirName(path: Buffer): Buffer {
  const slash = path.lastIndexOf(SLASH);
  if (slash <= 0) return Buffer.from('/');
  return path.subarray(0, slash);
}

/** A path given as text or bytes, as bytes (text is UTF-8, as the command line gives it). */
export function pathBytes(path: string | Buffer): Buffer {
  return typeof path === 'string' ? Buffer.from(path, 'utf8') : path;
}

/** The absolute, clean form of a path, as Go's filepath.Abs gives it: what restic's excludes see. */
export function absolutePath(path: string | Buffer, cwd: string = process.cwd()): Buffer {
  const raw = pathBytes(path).toString('latin1');
  const joined = raw.startsWith('/') ? raw : Buffer.from(cwd, 'utf8').toString('latin1') + '/' + raw;
  return Buffer.from(cleanPath(joined), 'latin1');
}
