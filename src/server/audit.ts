// The key-less audit: re-reads a client's stored files and checks each against its name (SHA-256),
// each pack's trailer, and what the previous run recorded, to find bit rot, truncation and loss.

import { createHash } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HoldfastError, isSystemError, messageOf } from '../errors.js';
import {
  type AuditProblem,
  type AuditRun,
  type AuditState,
  auditLockOf,
  ensureAuditDir,
  type FileState,
  loadState,
  peekDeletions,
  recordRun,
  saveState,
  settleDeletions,
  takeDeletions,
} from './audit-store.js';
import { type DataDir, repoDirOf, repoRelPath } from './data-dir.js';
import { withFileLock } from './file-lock.js';
import { packTrailerProblem } from './pack-trailer.js';
import { RateLimiter } from './rate-limiter.js';

export interface AuditOptions {
  /** Re-read files verified less than this long ago only if they changed on disk. */
  readonly reverifyAfterMs: number;
  /** Shared by every client of one run, so the rate is the run's total. */
  readonly limiter?: RateLimiter;
  /** Stops a run between reads (server shutdown); nothing of the partial run is recorded. */
  readonly signal?: AbortSignal;
}

export interface AuditResult {
  readonly runs: readonly AuditRun[];
  /** Clients that could not be audited (e.g. an audit of them was already running), with why. */
  readonly skipped: readonly { readonly client: string; readonly reason: string }[];
}

/** Audits clients one after another at one shared rate. */
export async function auditClients(
  d: DataDir,
  clients: readonly string[],
  options: AuditOptions & { readonly rateBytesPerSec?: number },
): Promise<AuditResult> {
  const limiter = options.limiter ?? new RateLimiter(options.rateBytesPerSec ?? 0);
  const runs: AuditRun[] = [];
  const skipped: { client: string; reason: string }[] = [];
  for (const client of clients) {
    try {
      runs.push(await auditClient(d, client, { ...options, limiter }));
    } catch (err) {
      if (!(err instanceof HoldfastError && err.code === 'ERR_LOCKED')) throw err;
      skipped.push({ client, reason: err.message });
    }
  }
  return { runs, skipped };
}

const objectName = /^[0-9a-f]{64}$/;
const READ_CHUNK = 1024 * 1024;

/** Locks are created and deleted constantly and carry nothing to restore, so they are not audited. */
const auditedTypes = ['keys', 'data', 'index', 'snapshots'] as const;

interface StoredFile {
  /** Path within the repository, e.g. `data/ab/ab12…`. */
  readonly rel: string;
  readonly path: string;
  /** The SHA-256 the content must have; null for the config. */
  readonly expected: string | null;
  readonly isPack: boolean;
}

export async function auditClient(d: DataDir, client: string, options: AuditOptions): Promise<AuditRun> {
  await ensureAuditDir(d, client);
  try {
    return await withFileLock(auditLockOf(d, client), () => runAudit(d, client, options), 0);
  } catch (err) {
    if (err instanceof HoldfastError && err.code === 'ERR_LOCKED') {
      throw new HoldfastError('ERR_LOCKED', `an audit of client "${client}" is already running`);
    }
    throw err;
  }
}

async function runAudit(d: DataDir, client: string, options: AuditOptions): Promise<AuditRun> {
  const started = new Date();
  const limiter = options.limiter ?? new RateLimiter(0);
  const deletions = await takeDeletions(d, client);
  const old = await loadState(d, client);
  const files: Record<string, FileState> = {};
  for (const [rel, s] of Object.entries(old.files)) if (!deletions.files.has(rel)) files[rel] = s;
  const state: AuditState = { version: 1, files };
  const problems: AuditProblem[] = [];
  const seen = new Set<string>();
  let filesChecked = 0;
  let filesSkipped = 0;
  let bytesRead = 0;
  const problem = (file: string, kind: AuditProblem['kind'], detail: string) => problems.push({ client, file, kind, detail });

  for (const f of await storedFiles(repoDirOf(d, client))) {
    options.signal?.throwIfAborted();
    seen.add(f.rel);
    const prev = files[f.rel];
    let s;
    try {
      s = await stat(f.path);
    } catch (err) {
      // Deleted since the listing: the vanished check below decides whether a client did it.
      if (isSystemError(err, 'ENOENT')) {
        seen.delete(f.rel);
        continue;
      }
      problem(f.rel, 'unreadable', messageOf(err));
      continue;
    }
    const changed = prev !== undefined && (prev.size !== s.size || prev.mtimeMs !== s.mtimeMs || prev.ino !== s.ino);
    if (prev && !changed && started.getTime() - prev.verifiedAt < options.reverifyAfterMs) {
      filesSkipped++;
      continue;
    }
    let read;
    try {
      read = await readFile(f.path, limiter, options.signal);
    } catch (err) {
      options.signal?.throwIfAborted();
      if (isSystemError(err, 'ENOENT')) {
        seen.delete(f.rel);
        continue;
      }
      problem(f.rel, 'unreadable', messageOf(err));
      continue;
    }
    filesChecked++;
    bytesRead += read.size;
    const trouble = judge(f, read, prev);
    if (trouble) {
      problem(f.rel, trouble.kind, trouble.detail);
      // The entry stays as it was, so the file is checked and reported again on the next run.
      continue;
    }
    files[f.rel] = {
      size: read.size,
      mtimeMs: s.mtimeMs,
      ino: s.ino,
      verifiedAt: started.getTime(),
      ...(f.expected === null ? { sha256: read.sha256 } : {}),
    };
  }

  const lateDeletions = await peekDeletions(d, client);
  for (const rel of Object.keys(files)) {
    if (seen.has(rel)) continue;
    if (lateDeletions.has(rel)) {
      delete files[rel];
      continue;
    }
    const prev = files[rel]!;
    problem(rel, 'vanished', `gone from disk; ${prev.size} bytes were verified on ${new Date(prev.verifiedAt).toISOString()} and no client deleted it`);
  }

  await saveState(d, client, state);
  await settleDeletions(deletions.journals);
  const run: AuditRun = {
    client,
    started: started.toISOString(),
    finished: new Date().toISOString(),
    filesChecked,
    filesSkipped,
    bytesRead,
    problems,
  };
  await recordRun(d, client, run);
  return run;
}

interface ReadResult {
  readonly size: number;
  readonly sha256: string;
  /** The last 4 bytes. */
  readonly trailer: Buffer;
}

function judge(f: StoredFile, read: ReadResult, prev: FileState | undefined): { kind: AuditProblem['kind']; detail: string } | null {
  if (f.expected !== null && read.sha256 !== f.expected) {
    if (prev && read.size < prev.size) return { kind: 'truncated', detail: `${read.size} bytes, ${prev.size} when last verified` };
    return { kind: 'hash-mismatch', detail: `content SHA-256 is ${read.sha256}, not its name` };
  }
  // The config's name says nothing about its content. A client may replace it only by deleting it
  // first, which drops its recorded state; any other change happened behind the server's back.
  if (f.expected === null && prev?.sha256 !== undefined && prev.sha256 !== read.sha256) {
    return { kind: 'changed', detail: `content changed on disk (SHA-256 ${read.sha256}, was ${prev.sha256}) without a client rewriting it` };
  }
  if (f.isPack) {
    const why = packTrailerProblem(read.trailer, read.size);
    if (why) return { kind: 'bad-pack-trailer', detail: why };
  }
  return null;
}

async function readFile(path: string, limiter: RateLimiter, signal: AbortSignal | undefined): Promise<ReadResult> {
  const hash = createHash('sha256');
  let size = 0;
  let tail: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK, signal })) {
    const b = chunk as Buffer;
    hash.update(b);
    size += b.length;
    tail = b.length >= 4 ? b.subarray(b.length - 4) : Buffer.concat([tail, b]).subarray(-4);
    await limiter.consume(b.length, signal);
  }
  return { size, sha256: hash.digest('hex'), trailer: Buffer.from(tail) };
}

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return [];
    throw err;
  }
}

async function storedFiles(repo: string): Promise<StoredFile[]> {
  const out: StoredFile[] = [];
  for (const e of await entries(repo)) {
    if (e.isFile() && e.name === 'config') out.push({ rel: 'config', path: join(repo, 'config'), expected: null, isPack: false });
  }
  for (const type of auditedTypes) {
    const base = join(repo, type);
    const dirs = type === 'data' ? (await entries(base)).filter((e) => e.isDirectory() && /^[0-9a-f]{2}$/.test(e.name)).map((e) => e.name) : [''];
    for (const sub of dirs) {
      for (const e of await entries(join(base, sub))) {
        // A pack outside its own 2-character directory is unreachable for restic, so it is not stored data.
        if (!e.isFile() || !objectName.test(e.name) || !e.name.startsWith(sub)) continue;
        out.push({ rel: repoRelPath(type, e.name), path: join(base, sub, e.name), expected: e.name, isPack: type === 'data' });
      }
    }
  }
  return out;
}
