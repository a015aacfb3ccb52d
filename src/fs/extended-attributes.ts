// Extended attributes of a file, in the order the kernel lists them (restic 0.14 keeps that order),
// read through the optional native module @napi-rs/xattr; without it a backup records none.

import { isUtf8 } from 'node:buffer';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { ExtendedAttribute } from '../format/node.js';
import { baseName, dirName } from './paths.js';
import type { WarningSink } from './warning.js';

/**
 * The part of @napi-rs/xattr we use. It works on the path itself: symlinks are not followed.
 * The synchronous calls are used on purpose: a listxattr is a few microseconds in the kernel,
 * while its asynchronous form costs several times that in thread-pool hand-offs, per file.
 */
interface XattrModule {
  listAttributesSync(path: string): string[];
  /** null when the attribute is missing or cannot be read: the module hides the errno. */
  getAttributeSync(path: string, name: string): Buffer | null;
}

// A variable keeps TypeScript from resolving the optional module at build time.
const moduleName = '@napi-rs/xattr';
let loading: Promise<XattrModule | Error> | undefined;
/** The module once loaded: the per-file path then has no await but its caller's. */
let loaded: XattrModule | Error | undefined;
// Both limits hold for the whole process, so each is reported once rather than for every file.
let loadWarned = false;
let unnamedWarned = false;

function loadModule(): Promise<XattrModule | Error> {
  loading ??= import(moduleName).then(
    (mod: { default?: XattrModule } & XattrModule) => (loaded = mod.default ?? mod),
    (err: unknown) => (loaded = err instanceof Error ? err : new Error(String(err))),
  );
  return loading;
}

/** Whether extended attributes can be read here, and if not, why (for a startup message). */
export async function extendedAttributeSupport(): Promise<{ available: boolean; reason?: string }> {
  const mod = await loadModule();
  return mod instanceof Error ? { available: false, reason: mod.message } : { available: true };
}

const ENODATA = 61;
const EOPNOTSUPP = 95;

/** The errno in the module's error messages ("... (os error 95)"), which carry no code. */
function osErrno(err: unknown): number | undefined {
  const match = /\(os error (\d+)\)/.exec(err instanceof Error ? err.message : '');
  return match ? Number(match[1]) : undefined;
}

/**
 * Runs `read` with a string path naming a file whose path is not valid UTF-8 (the module takes only
 * UTF-8 strings), through /proc/self/fd: the module never follows the last component when it is a
 * symlink, so the fd must be an intermediate component — the directory itself (with a trailing
 * `/.`) or, for other files, the parent directory followed by the name. A non-directory whose own
 * name is not UTF-8 cannot be named at all: undefined.
 */
async function withNonUtf8Path<T>(path: Buffer, isDir: boolean, read: (path: string) => T): Promise<T | undefined> {
  let target: Buffer;
  let suffix: string;
  if (isDir) {
    target = path;
    suffix = '.';
  } else {
    const name = baseName(path);
    if (!isUtf8(name)) return undefined;
    target = dirName(path);
    suffix = name.toString('utf8');
  }
  const handle = await open(target, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    return await read(`/proc/self/fd/${handle.fd}/${suffix}`);
  } finally {
    await handle.close();
  }
}

function readAll(mod: XattrModule, path: string, rawPath: Buffer, warn: WarningSink): ExtendedAttribute[] {
  let names: string[];
  try {
    names = mod.listAttributesSync(path);
  } catch (err) {
    // File systems without xattr support answer EOPNOTSUPP, some network ones ENODATA: restic
    // treats both as "no attributes".
    const errno = osErrno(err);
    if (errno !== EOPNOTSUPP && errno !== ENODATA) {
      warn({ path: rawPath, message: `cannot list extended attributes: ${(err as Error).message}`, cause: err });
    }
    return [];
  }
  if (names.length === 0) return [];
  const values = names.map((name) => mod.getAttributeSync(path, name));
  const attrs: ExtendedAttribute[] = [];
  names.forEach((name, i) => {
    const value = values[i];
    // Like restic: an attribute that cannot be read (or vanished since the listing) is left out.
    if (value === null || value === undefined) warn({ path: rawPath, message: `cannot read extended attribute ${name}` });
    else attrs.push({ name, value });
  });
  return attrs;
}

/**
 * The extended attributes of the file at `path` (not of a symlink's target), [] when it has none,
 * the file system has no support, or the module is missing (reported once per process). Other
 * failures are warnings, never errors: the rest of the node is still worth saving.
 */
export async function readExtendedAttributes(path: Buffer, isDir: boolean, warn: WarningSink): Promise<ExtendedAttribute[]> {
  const mod = loaded ?? (await loadModule());
  if (mod instanceof Error) {
    if (!loadWarned) {
      loadWarned = true;
      warn({ path, message: `extended attributes are not saved: the module ${moduleName} cannot be loaded (${mod.message})`, cause: mod });
    }
    return [];
  }
  try {
    const read = (p: string) => readAll(mod, p, path, warn);
    const attrs = isUtf8(path) ? read(path.toString('utf8')) : await withNonUtf8Path(path, isDir, read);
    if (attrs !== undefined) return attrs;
    if (!unnamedWarned) {
      unnamedWarned = true;
      warn({ path, message: 'extended attributes of files whose names are not valid UTF-8 are not saved (this is the first)' });
    }
  } catch (err) {
    warn({ path, message: `cannot read extended attributes: ${(err as Error).message}`, cause: err });
  }
  return [];
}
