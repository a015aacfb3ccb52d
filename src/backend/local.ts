// The local backend: a repository in a directory, in restic's layout. Files are written to a temp
// name, fsynced, then hard-linked to their final name (which never overwrites) and the directory fsynced.

import { randomBytes } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { type FileHandle, link, mkdir, open, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { HoldfastError, isSystemError } from '../errors.js';
import { type Backend, checkHandle, describe, type FileInfo, type FileType, fileTypes, type Handle, notFound } from './backend.js';
import { OpenFiles } from './open-files.js';

const namePattern = /^[0-9a-f]{64}$/;
const subdirPattern = /^[0-9a-f]{2}$/;
/** Pack files kept open between reads: the packs a restore or a check reads at once, and more. */
const OPEN_PACKS = 16;
/** How long a pack's descriptor serves further reads: a restore or check reads a pack's ranges within it. */
const OPEN_PACK_MS = 1000;

export class LocalBackend implements Backend {
  readonly location: string;
  readonly listsAtOnce = true;

  readonly tempDir: string;
  private readonly openPacks = new OpenFiles(OPEN_PACKS, OPEN_PACK_MS);

  constructor(readonly root: string) {
    this.location = root;
    // Stray files directly in data/ are ignored by restic's and our listings (only data/xx/ holds packs).
    this.tempDir = join(root, 'data');
  }

  /** The directory a file lives in: data packs go into 2-character subdirectories. */
  dirOf(h: Handle): string {
    if (h.type === 'config') return this.root;
    if (h.type === 'data') return join(this.root, 'data', h.name.slice(0, 2));
    return join(this.root, h.type);
  }

  pathOf(h: Handle): string {
    checkHandle(h);
    return h.type === 'config' ? join(this.root, 'config') : join(this.dirOf(h), h.name);
  }

  async create(): Promise<void> {
    try {
      for (const t of fileTypes) await mkdir(join(this.root, t), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw ioError(`cannot create repository at ${this.root}`, err);
    }
  }

  async stat(h: Handle): Promise<FileInfo> {
    const path = this.pathOf(h);
    try {
      const s = await stat(path);
      return { name: h.type === 'config' ? 'config' : h.name, size: s.size };
    } catch (err) {
      if (isSystemError(err, 'ENOENT', 'ENOTDIR')) throw notFound(this.location, h);
      throw ioError(`cannot stat ${describe(h)}`, err);
    }
  }

  async read(h: Handle, range?: { offset: number; length: number }, into?: Buffer): Promise<Buffer> {
    const path = this.pathOf(h);
    const opener = () => this.openForReading(path, h);
    // Packs are read in many ranges (restore, check, prune): their descriptors stay open.
    if (h.type === 'data') return this.openPacks.with(path, opener, (fh) => readRange(fh, h, range, into));
    const fh = await opener();
    try {
      return await readRange(fh, h, range, into);
    } finally {
      await fh.close();
    }
  }

  withPackDescriptor<T>(h: Handle, use: (fd: number) => Promise<T>): Promise<T> {
    const path = this.pathOf(h);
    return this.openPacks.with(path, () => this.openForReading(path, h), (fh) => use(fh.fd));
  }

  private async openForReading(path: string, h: Handle): Promise<FileHandle> {
    try {
      return await open(path, constants.O_RDONLY);
    } catch (err) {
      if (isSystemError(err, 'ENOENT', 'ENOTDIR')) throw notFound(this.location, h);
      throw ioError(`cannot open ${describe(h)}`, err);
    }
  }

  async write(h: Handle, data: Buffer): Promise<void> {
    const final = this.pathOf(h);
    const dir = this.dirOf(h);
    const temp = join(dir, `.${h.type === 'config' ? 'config' : h.name}.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await writeDurably(temp, data, dir);
      try {
        await link(temp, final);
      } catch (err) {
        if (!isSystemError(err, 'EEXIST')) throw err;
        await this.acceptExisting(h, data.length);
      }
      await syncDir(dir);
    } catch (err) {
      if (err instanceof HoldfastError) throw err;
      throw ioError(`cannot write ${describe(h)} to ${this.location}`, err);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async writeFile(h: Handle, path: string): Promise<void> {
    const final = this.pathOf(h);
    const dir = this.dirOf(h);
    try {
      try {
        await link(path, final);
      } catch (err) {
        if (isSystemError(err, 'ENOENT')) {
          await mkdir(dir, { recursive: true, mode: 0o700 });
          await link(path, final);
        } else if (isSystemError(err, 'EEXIST')) {
          await this.acceptExisting(h, (await stat(path)).size);
        } else if (isSystemError(err, 'EXDEV')) {
          await this.write(h, await readFile(path));
        } else {
          throw err;
        }
      }
      await syncDir(dir);
    } catch (err) {
      if (err instanceof HoldfastError) throw err;
      throw ioError(`cannot store ${describe(h)} in ${this.location}`, err);
    } finally {
      await unlink(path).catch(() => undefined);
    }
  }

  /** Content-addressed names hold content of one size only; an equal size means a finished retry. */
  private async acceptExisting(h: Handle, size: number): Promise<void> {
    if (h.type === 'config') {
      throw new HoldfastError('ERR_ALREADY_EXISTS', `a repository already exists at ${this.location} (config is present)`);
    }
    const existing = await stat(this.pathOf(h));
    if (existing.size !== size) {
      throw new HoldfastError(
        'ERR_ALREADY_EXISTS',
        `${describe(h)} already exists with ${existing.size} bytes, refusing to store ${size} different bytes under its name`,
      );
    }
  }

  async remove(h: Handle): Promise<void> {
    const path = this.pathOf(h);
    await this.openPacks.forget(path);
    try {
      await rm(path, { force: true });
    } catch (err) {
      throw ioError(`cannot remove ${describe(h)}`, err);
    }
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    const base = join(this.root, type);
    if (type !== 'data') {
      yield* listDir(base);
      return;
    }
    for (const d of await readDirents(base)) {
      if (d.isDirectory() && subdirPattern.test(d.name)) yield* listDir(join(base, d.name));
    }
  }

  async close(): Promise<void> {
    await this.openPacks.closeAll();
  }
}

/** Reads `range` of an open file (all of it without one) into `into` when it is big enough. */
async function readRange(fh: FileHandle, h: Handle, range: { offset: number; length: number } | undefined, into: Buffer | undefined): Promise<Buffer> {
  try {
    const offset = range?.offset ?? 0;
    const length = range?.length ?? (await fh.stat()).size - offset;
    const buf = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(Math.max(0, length));
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (done !== length) {
      throw new HoldfastError('ERR_CORRUPT', `${describe(h)} is truncated: wanted ${length} bytes at ${offset}, got ${done}`);
    }
    return buf;
  } catch (err) {
    if (err instanceof HoldfastError) throw err;
    throw ioError(`cannot read ${describe(h)}`, err);
  }
}

async function readDirents(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return [];
    throw ioError(`cannot list ${dir}`, err);
  }
}

async function* listDir(dir: string): AsyncIterable<FileInfo> {
  for (const d of await readDirents(dir)) {
    if (!d.isFile() || !namePattern.test(d.name)) continue;
    try {
      const s = await stat(join(dir, d.name));
      yield { name: d.name, size: s.size };
    } catch (err) {
      // Removed by a concurrent prune between readdir and stat: it is simply gone.
      if (!isSystemError(err, 'ENOENT')) throw ioError(`cannot stat ${join(dir, d.name)}`, err);
    }
  }
}

/** Writes a whole new file and fsyncs it; creates the directory (2-char data subdirs) on demand. */
async function writeDurably(path: string, data: Buffer, dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o400);
  } catch (err) {
    if (!isSystemError(err, 'ENOENT')) throw err;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o400);
  }
  try {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await fh.write(data, done, data.length - done);
      done += bytesWritten;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Maps system errors to one clear line; a full disk gets its own code so callers can say so. */
export function ioError(what: string, err: unknown): HoldfastError {
  const e = err as NodeJS.ErrnoException;
  if (isSystemError(err, 'ENOSPC', 'EDQUOT')) {
    return new HoldfastError('ERR_NO_SPACE', `${what}: no space left on device`, { cause: err });
  }
  if (isSystemError(err, 'EACCES', 'EPERM', 'EROFS')) {
    return new HoldfastError('ERR_PERMISSION', `${what}: permission denied (${e.code})`, { cause: err });
  }
  return new HoldfastError('ERR_IO', `${what}: ${e?.message ?? String(err)}`, { cause: err });
}
