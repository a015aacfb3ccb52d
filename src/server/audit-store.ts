// What the audit remembers per client under the data directory: the state of every verified file,
// the history of runs, the latest run, and a journal of deletions made through the API.

import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isSystemError } from '../errors.js';
import { auditDirOf, type DataDir } from './data-dir.js';

/** What the audit saw when it last verified a file; a difference means the file changed on disk. */
export interface FileState {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  /** Epoch milliseconds of the last successful verification. */
  readonly verifiedAt: number;
  /** Only for the config, whose name is not its hash. */
  readonly sha256?: string;
}

export interface AuditState {
  readonly version: 1;
  /** Keyed by path in the repository: `config`, `keys/<id>`, `data/ab/<id>`. */
  readonly files: Record<string, FileState>;
}

export type ProblemKind = 'hash-mismatch' | 'truncated' | 'vanished' | 'changed' | 'bad-pack-trailer' | 'unreadable';

export interface AuditProblem {
  readonly client: string;
  readonly file: string;
  readonly kind: ProblemKind;
  readonly detail: string;
}

export interface AuditRun {
  readonly client: string;
  readonly started: string;
  readonly finished: string;
  readonly filesChecked: number;
  /** Files whose size, mtime and inode were unchanged and were verified recently enough. */
  readonly filesSkipped: number;
  readonly bytesRead: number;
  readonly problems: readonly AuditProblem[];
}

export interface AuditSummary {
  readonly client: string;
  readonly lastRun: AuditRun | null;
  /** When the last run without problems finished. */
  readonly lastClean: string | null;
}

const paths = (d: DataDir, client: string) => {
  const dir = auditDirOf(d, client);
  return {
    dir,
    state: join(dir, 'state.json'),
    history: join(dir, 'history.jsonl'),
    last: join(dir, 'last.json'),
    deleted: join(dir, 'deleted.log'),
    lock: join(dir, 'lock'),
  };
};

export function auditLockOf(d: DataDir, client: string): string {
  return paths(d, client).lock;
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return null;
    throw err;
  }
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    const fh = await open(temp, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify(value));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, path);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

export async function ensureAuditDir(d: DataDir, client: string): Promise<void> {
  await mkdir(paths(d, client).dir, { recursive: true, mode: 0o700 });
}

export async function loadState(d: DataDir, client: string): Promise<AuditState> {
  const s = await readJson<AuditState>(paths(d, client).state);
  return s?.version === 1 ? s : { version: 1, files: {} };
}

export async function saveState(d: DataDir, client: string, state: AuditState): Promise<void> {
  await writeJsonAtomic(paths(d, client).state, state);
}

export async function recordRun(d: DataDir, client: string, run: AuditRun): Promise<AuditSummary> {
  const p = paths(d, client);
  await appendFile(p.history, JSON.stringify(run) + '\n', { mode: 0o600 });
  const previous = await readSummary(d, client);
  const summary: AuditSummary = {
    client,
    lastRun: run,
    lastClean: run.problems.length === 0 ? run.finished : previous.lastClean,
  };
  await writeJsonAtomic(p.last, summary);
  return summary;
}

export async function readSummary(d: DataDir, client: string): Promise<AuditSummary> {
  return (await readJson<AuditSummary>(paths(d, client).last)) ?? { client, lastRun: null, lastClean: null };
}

/** Every run of a client, oldest first. */
export async function readHistory(d: DataDir, client: string): Promise<AuditRun[]> {
  try {
    const text = await readFile(paths(d, client).history, 'utf8');
    return text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as AuditRun);
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return [];
    throw err;
  }
}

/** Called by the server for every DELETE it answers, so the audit can tell a prune from a loss. */
export async function journalDeletion(d: DataDir, client: string, file: string): Promise<void> {
  const p = paths(d, client);
  try {
    await appendFile(p.deleted, file + '\n', { mode: 0o600 });
  } catch (err) {
    if (!isSystemError(err, 'ENOENT')) throw err;
    await ensureAuditDir(d, client);
    await appendFile(p.deleted, file + '\n', { mode: 0o600 });
  }
}

/**
 * The deletions journaled so far. The journal is moved aside first, so deletions made during the
 * run land in a new journal; `settleDeletions` drops the moved ones once the state is saved. Journals
 * moved aside by a run that crashed are read again.
 */
export async function takeDeletions(d: DataDir, client: string): Promise<{ files: Set<string>; journals: string[] }> {
  const p = paths(d, client);
  await rename(p.deleted, `${p.deleted}.${Date.now()}-${randomBytes(4).toString('hex')}`).catch((err) => {
    if (!isSystemError(err, 'ENOENT')) throw err;
  });
  const journals = (await readdir(p.dir)).filter((n) => n.startsWith('deleted.log.')).map((n) => join(p.dir, n));
  const files = new Set<string>();
  for (const j of journals) for (const f of await readJournal(j)) files.add(f);
  return { files, journals };
}

/** Deletions journaled while a run was under way (the current journal, left in place). */
export async function peekDeletions(d: DataDir, client: string): Promise<Set<string>> {
  return readJournal(paths(d, client).deleted);
}

export async function settleDeletions(journals: readonly string[]): Promise<void> {
  for (const j of journals) await unlink(j).catch(() => undefined);
}

async function readJournal(path: string): Promise<Set<string>> {
  try {
    return new Set((await readFile(path, 'utf8')).split('\n').filter((l) => l.length > 0));
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return new Set();
    throw err;
  }
}
