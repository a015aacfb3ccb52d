// Receives one object upload durably: the body streams to a temp file beside the final name while
// it is hashed, then fsync, hard link (never overwrites), directory fsync. Memory stays bounded.

import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { type FileHandle, link, mkdir, open, stat, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { isSystemError } from '../errors.js';
import { syncDir } from '../backend/local.js';

/** Counts an upload against the client's quota; `reserve` is false when it would not fit. */
export interface QuotaGate {
  reserve(bytes: number): boolean;
  release(bytes: number): void;
  stored(reservedBytes: number, size: number): void;
}

export interface UploadRequest {
  /** Must not destroy the request when left early, so a 507 can still be answered on it. */
  readonly body: AsyncIterable<Buffer>;
  /** From Content-Length; null for a chunked body, whose size is checked as it arrives. */
  readonly contentLength: number | null;
  readonly dir: string;
  readonly final: string;
  /** The SHA-256 the body must have (the object's name); null for the config. */
  readonly expectedHash: string | null;
  /** Data packs live in 2-character subdirectories that are made on first use. */
  readonly makeDir: boolean;
  readonly quota: QuotaGate;
}

export type UploadOutcome =
  | { readonly status: 'stored'; readonly bytes: number }
  /** The name existed with exactly these bytes: a client retry of an acknowledged upload. */
  | { readonly status: 'identical'; readonly bytes: number }
  | { readonly status: 'conflict' }
  | { readonly status: 'hash-mismatch'; readonly bytes: number }
  | { readonly status: 'incomplete'; readonly bytes: number }
  | { readonly status: 'over-quota'; readonly bytes: number }
  | { readonly status: 'no-space' };

const TEMP_MARK = '.upload-';
/** Read-only, as the local backend and restic's make them: stored objects are never modified. */
const FILE_MODE = 0o400;
/** Writes are batched to this size: few syscalls, and at most two batches in memory per upload. */
const BATCH = 1024 * 1024;

export function isUploadTemp(name: string): boolean {
  return name.startsWith('.') && name.includes(TEMP_MARK);
}

export async function receiveUpload(u: UploadRequest): Promise<UploadOutcome> {
  const existing = await stat(u.final).catch((err) => {
    if (isSystemError(err, 'ENOENT', 'ENOTDIR')) return null;
    throw err;
  });
  if (existing) return compareWithExisting(u);

  let reserved = 0;
  if (u.contentLength !== null) {
    if (!u.quota.reserve(u.contentLength)) return { status: 'over-quota', bytes: 0 };
    reserved = u.contentLength;
  }
  const temp = `${u.dir}/.${basename(u.final)}${TEMP_MARK}${randomBytes(6).toString('hex')}`;
  let linked = false;
  try {
    const fh = await openTemp(temp, u);
    let received: Received;
    try {
      received = await streamToFile(u, fh, (n) => {
        if (u.contentLength !== null) return true;
        if (!u.quota.reserve(n)) return false;
        reserved += n;
        return true;
      });
      if (received.status !== 'complete') return { status: received.status, bytes: received.bytes };
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (u.expectedHash !== null && received.hash !== u.expectedHash) return { status: 'hash-mismatch', bytes: received.bytes };
    try {
      await link(temp, u.final);
      linked = true;
    } catch (err) {
      if (!isSystemError(err, 'EEXIST')) throw err;
      // A concurrent upload of the same name finished first.
      const same = u.expectedHash !== null || (await sha256File(u.final)) === received.hash;
      return same ? { status: 'identical', bytes: received.bytes } : { status: 'conflict' };
    }
    await unlink(temp);
    await syncDir(u.dir);
    u.quota.stored(reserved, received.bytes);
    reserved = 0;
    return { status: 'stored', bytes: received.bytes };
  } catch (err) {
    if (isSystemError(err, 'ENOSPC', 'EDQUOT')) {
      if (linked) await unlink(u.final).catch(() => undefined);
      return { status: 'no-space' };
    }
    throw err;
  } finally {
    if (reserved > 0) u.quota.release(reserved);
    await unlink(temp).catch(() => undefined);
  }
}

async function openTemp(temp: string, u: UploadRequest): Promise<FileHandle> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
  try {
    return await open(temp, flags, FILE_MODE);
  } catch (err) {
    if (!u.makeDir || !isSystemError(err, 'ENOENT')) throw err;
    // Not recursive: a missing data/ means the repository was never created, which is the caller's 404.
    await mkdir(u.dir, { mode: 0o700 }).catch((e) => {
      if (!isSystemError(e, 'EEXIST')) throw e;
    });
    return open(temp, flags, FILE_MODE);
  }
}

type Received =
  | { readonly status: 'complete'; readonly bytes: number; readonly hash: string }
  | { readonly status: 'incomplete' | 'over-quota'; readonly bytes: number };

/** The body ended early: the client went away or a timeout cut the connection. */
class BodyCut extends Error {}

async function* chunksOf(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* body;
  } catch (err) {
    throw new BodyCut('request body cut short', { cause: err });
  }
}

/** Writes the body in batches, the next batch arriving while the previous one is written. */
async function streamToFile(u: UploadRequest, fh: FileHandle, admit: (n: number) => boolean): Promise<Received> {
  const hash = createHash('sha256');
  let bytes = 0;
  let batch: Buffer[] = [];
  let batchSize = 0;
  let writing: Promise<void> = Promise.resolve();
  try {
    for await (const chunk of chunksOf(u.body)) {
      if (!admit(chunk.length)) {
        await writing;
        return { status: 'over-quota', bytes };
      }
      hash.update(chunk);
      bytes += chunk.length;
      batch.push(chunk);
      batchSize += chunk.length;
      if (batchSize >= BATCH) {
        await writing;
        writing = writeAll(fh, batch);
        batch = [];
        batchSize = 0;
      }
    }
  } catch (err) {
    await writing.catch(() => undefined);
    if (err instanceof BodyCut) return { status: 'incomplete', bytes };
    throw err;
  }
  await writing;
  if (batchSize > 0) await writeAll(fh, batch);
  if (u.contentLength !== null && bytes !== u.contentLength) return { status: 'incomplete', bytes };
  return { status: 'complete', bytes, hash: hash.digest('hex') };
}

/** writev without copying the chunks together; a short write (rare on files) is finished chunk by chunk. */
async function writeAll(fh: FileHandle, chunks: Buffer[]): Promise<void> {
  let skip = (await fh.writev(chunks)).bytesWritten;
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length;
      continue;
    }
    let done = skip;
    skip = 0;
    while (done < c.length) done += (await fh.write(c, done, c.length - done)).bytesWritten;
  }
}

/** The name exists: equal bytes are a retry (200); anything else would overwrite it (403). */
async function compareWithExisting(u: UploadRequest): Promise<UploadOutcome> {
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of chunksOf(u.body)) {
      hash.update(chunk);
      bytes += chunk.length;
    }
  } catch (err) {
    if (err instanceof BodyCut) return { status: 'incomplete', bytes };
    throw err;
  }
  if (u.contentLength !== null && bytes !== u.contentLength) return { status: 'incomplete', bytes };
  const got = hash.digest('hex');
  const want = u.expectedHash ?? (await sha256File(u.final));
  return got === want ? { status: 'identical', bytes } : { status: 'conflict' };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: BATCH })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
