// Where repository files live: one small interface that every backend (local directory, REST
// server, later S3) implements. Files are write-once; names are validated here for all backends.

import { HoldfastError, invalidArgument } from '../errors.js';

export const fileTypes = ['data', 'keys', 'locks', 'snapshots', 'index'] as const;
export type FileType = (typeof fileTypes)[number];

/** A file in the repository; `config` has no name. */
export type Handle = { readonly type: FileType; readonly name: string } | { readonly type: 'config' };

export interface FileInfo {
  readonly name: string;
  readonly size: number;
}

export interface Backend {
  /** Where the repository is, without any secret; used in messages. */
  readonly location: string;
  /**
   * True when a listing shows every file whose write has completed (a local file system). Then a
   * new lock is checked against the others at once, without waiting for them to become visible.
   */
  readonly listsAtOnce?: boolean;
  /** Creates the repository's directories (not the config). Idempotent. */
  create(): Promise<void>;
  /** Size of a file; throws ERR_NOT_FOUND when it does not exist. */
  stat(h: Handle): Promise<FileInfo>;
  /**
   * The file's bytes, or `length` bytes from `offset`. Throws ERR_NOT_FOUND; a short read is ERR_CORRUPT.
   * A backend may read into `into` when the bytes fit (the result is then a view of it), so that a
   * caller reading many pieces reuses one buffer; callers use the result either way.
   */
  read(h: Handle, range?: { offset: number; length: number }, into?: Buffer): Promise<Buffer>;
  /**
   * Only where files are local: runs `use` with an open descriptor of a pack, which any thread of
   * this process may read with positional reads until `use` settles (a restore's writer threads
   * read their ranges themselves).
   */
  withPackDescriptor?<T>(h: Handle, use: (fd: number) => Promise<T>): Promise<T>;
  /**
   * Stores a new file durably before resolving. Never overwrites: writing a content-addressed
   * name that exists with the same size succeeds (a retry); the config is refused if present.
   */
  write(h: Handle, data: Buffer): Promise<void>;
  /**
   * Where packs being written are kept until they are stored: chosen so that `writeFile` is
   * cheap (for a local repository, on the same file system, so storing is a link).
   */
  readonly tempDir: string;
  /**
   * Stores the complete, fsynced temp file at `path` under `h` (same rules as `write`), then
   * removes the temp file.
   */
  writeFile(h: Handle, path: string): Promise<void>;
  /** Removes a file; removing a missing file succeeds. */
  remove(h: Handle): Promise<void>;
  /** Every file of a type with its size, in no particular order. */
  list(type: FileType): AsyncIterable<FileInfo>;
  close(): Promise<void>;
}

export function describe(h: Handle): string {
  return h.type === 'config' ? 'config' : `${h.type}/${h.name}`;
}

const namePattern = /^[0-9a-f]{64}$/;

/** Every name except the config's is 64 lowercase hex characters; anything else is refused. */
export function checkHandle(h: Handle): void {
  if (h.type === 'config') return;
  if (!(fileTypes as readonly string[]).includes(h.type)) throw invalidArgument(`invalid file type "${h.type}"`);
  if (!namePattern.test(h.name)) throw invalidArgument(`invalid file name "${h.name}" for ${h.type}`);
}

export function notFound(location: string, h: Handle): HoldfastError {
  return new HoldfastError('ERR_NOT_FOUND', `${describe(h)} does not exist in ${location}`);
}
