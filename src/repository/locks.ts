// Repository locks compatible with restic's: shared for backups, exclusive for prune and check;
// refreshed every 5 minutes; stale after 30 minutes or when their process on this host is gone.

import { hostname, userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { HoldfastError } from '../errors.js';
import { processExists } from './process-alive.js';
import { formatGoTime, goTimeFromDate, goTimeToDate } from '../format/go-json.js';
import { decodeLock, encodeLock, type LockDoc } from '../format/lock.js';
import type { Repository } from './repository.js';

export const STALE_AFTER_MS = 30 * 60 * 1000;
const REFRESH_EVERY_MS = 5 * 60 * 1000;
/**
 * Time for a concurrent locker's lock to become visible before we look again (restic: 200 ms), on
 * backends whose listings may lag. On the others, of two lockers racing, the one that lists last
 * sees the other's lock, because each wrote its own before listing.
 */
const SETTLE_MS = 200;

export interface LockInfo {
  readonly id: string;
  readonly doc: LockDoc;
  readonly stale: boolean;
}


export function isStale(doc: LockDoc, now = Date.now()): boolean {
  return now - goTimeToDate(doc.time).getTime() > STALE_AFTER_MS || isOrphaned(doc);
}

/** A lock taken on this host by a process that no longer exists. */
export function isOrphaned(doc: LockDoc): boolean {
  return doc.hostname === hostname() && !processExists(doc.pid);
}

export async function listLocks(repo: Repository, exceptId?: string): Promise<LockInfo[]> {
  const locks: LockInfo[] = [];
  for await (const f of repo.backend.list('locks')) {
    if (f.name === exceptId) continue;
    try {
      const doc = decodeLock(await repo.loadUnpacked('locks', f.name));
      locks.push({ id: f.name, doc, stale: isStale(doc) });
    } catch (err) {
      // Removed by its owner while we listed: it no longer matters.
      if (err instanceof HoldfastError && err.code === 'ERR_NOT_FOUND') continue;
      throw err;
    }
  }
  return locks;
}

function describeLock(l: LockInfo): string {
  const d = l.doc;
  const kind = d.exclusive ? 'exclusively' : 'non-exclusively';
  return `locked ${kind} by PID ${d.pid} on ${d.hostname} by ${d.username || 'unknown user'} since ${formatGoTime(d.time)} (lock ${l.id.slice(0, 8)})`;
}

function conflicts(wantExclusive: boolean, other: LockInfo): boolean {
  return !other.stale && (wantExclusive || other.doc.exclusive);
}

export class RepositoryLock {
  private timer: NodeJS.Timeout | undefined;
  private released = false;

  private constructor(
    private readonly repo: Repository,
    private id: string,
    readonly exclusive: boolean,
  ) {}

  /** Takes a lock, or throws ERR_LOCKED naming the lock that is in the way. */
  static async acquire(repo: Repository, exclusive: boolean): Promise<RepositoryLock> {
    const existing = await listLocks(repo);
    // A lock of a dead process on this host belongs to no one (a killed run): clear it, so that
    // restic, which does not look at PIDs, is not blocked by it either.
    for (const l of existing) if (isOrphaned(l.doc)) await repo.backend.remove({ type: 'locks', name: l.id });
    const blocking = existing.find((l) => !isOrphaned(l.doc) && conflicts(exclusive, l));
    if (blocking) throw lockedError(blocking);
    const id = await repo.saveUnpacked('locks', encodeLock(newLockDoc(exclusive)));
    if (!repo.backend.listsAtOnce) await sleep(SETTLE_MS);
    const late = (await listLocks(repo, id)).find((l) => conflicts(exclusive, l));
    if (late) {
      await repo.backend.remove({ type: 'locks', name: id });
      throw lockedError(late);
    }
    const lock = new RepositoryLock(repo, id, exclusive);
    lock.timer = setInterval(() => void lock.refresh().catch(() => undefined), REFRESH_EVERY_MS);
    lock.timer.unref();
    return lock;
  }

  /** Writes a fresh lock file and removes the old one, so others see this lock is alive. */
  async refresh(): Promise<void> {
    if (this.released) return;
    const old = this.id;
    this.id = await this.repo.saveUnpacked('locks', encodeLock(newLockDoc(this.exclusive)));
    await this.repo.backend.remove({ type: 'locks', name: old });
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    await this.repo.backend.remove({ type: 'locks', name: this.id });
  }
}

function newLockDoc(exclusive: boolean): LockDoc {
  let username = '';
  try {
    username = userInfo().username;
  } catch {
    // No passwd entry: the lock still identifies host and process.
  }
  return {
    time: goTimeFromDate(new Date()),
    exclusive,
    hostname: hostname(),
    username,
    pid: process.pid,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
  };
}

function lockedError(l: LockInfo): HoldfastError {
  return new HoldfastError(
    'ERR_LOCKED',
    `repository is already ${describeLock(l)}; if that process is gone, run "holdfast unlock"`,
  );
}

/** Removes stale locks (or all with `all`); returns the ids removed. */
export async function removeLocks(repo: Repository, all: boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const l of await listLocks(repo)) {
    if (all || l.stale) {
      await repo.backend.remove({ type: 'locks', name: l.id });
      removed.push(l.id);
    }
  }
  return removed;
}
