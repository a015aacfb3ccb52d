// unlock: removes the locks nobody holds any more (stale: their process on this host is gone, or
// they were not refreshed for 30 minutes), or every lock. Takes no lock itself, as restic's does.

import { HoldfastError, messageOf } from '../errors.js';
import { decodeLock, type LockDoc } from '../format/lock.js';
import { isStale } from '../repository/locks.js';
import type { Repository } from '../repository/repository.js';

export interface UnlockOptions {
  /** Remove every lock, stale or not, readable or not. */
  readonly all?: boolean;
}

export interface LockEntry {
  readonly id: string;
  /** Undefined when the lock file cannot be read. */
  readonly doc: LockDoc | undefined;
  readonly stale: boolean;
  readonly problem?: string;
}

export interface UnlockResult {
  readonly removed: LockEntry[];
  /** Locks left in place: live ones, and (without `all`) unreadable ones, which restic ignores too. */
  readonly kept: LockEntry[];
}

export async function unlockRepository(repo: Repository, options: UnlockOptions = {}): Promise<UnlockResult> {
  const removed: LockEntry[] = [];
  const kept: LockEntry[] = [];
  for await (const f of repo.list('locks')) {
    let entry: LockEntry;
    try {
      const doc = decodeLock(await repo.loadUnpacked('locks', f.name));
      entry = { id: f.name, doc, stale: isStale(doc) };
    } catch (err) {
      // Released by its owner while we looked: nothing to do.
      if (err instanceof HoldfastError && err.code === 'ERR_NOT_FOUND') continue;
      entry = { id: f.name, doc: undefined, stale: false, problem: messageOf(err) };
    }
    if (options.all || entry.stale) {
      await repo.backend.remove({ type: 'locks', name: f.name });
      removed.push(entry);
    } else {
      kept.push(entry);
    }
  }
  return { removed, kept };
}
