// A plan's repository for the length of one run: opened with the plan's password source, locked
// step by step as restic locks (shared to back up, exclusive to forget, prune and check).

import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { openBackend } from '../backend/location.js';
import { isRestLocation, parseRestLocation } from '../backend/rest-url.js';
import { HoldfastError } from '../errors.js';
import { indexCacheFile } from '../repository/index-cache.js';
import { openRepository } from '../repository/keys.js';
import { cacheDirOf } from '../repository/local-cache.js';
import { RepositoryLock } from '../repository/locks.js';
import type { Repository } from '../repository/repository.js';
import type { LogSink } from './agent-log.js';
import type { RepositoryConfig } from './config-types.js';
import { readPlanPassword } from './password-source.js';
import { locationSecret, type Secrets } from './secrets.js';

/** Between two attempts to lock a repository someone else holds. */
const LOCK_RETRY_MS = 5_000;

export interface OpenContext {
  readonly env: NodeJS.ProcessEnv;
  readonly secrets: Secrets;
  readonly signal: AbortSignal;
  readonly log: LogSink;
}

export class PlanRepository {
  private constructor(
    readonly repo: Repository,
    private readonly config: RepositoryConfig,
    private readonly context: OpenContext,
  ) {}

  static async open(config: RepositoryConfig, context: OpenContext): Promise<PlanRepository> {
    context.secrets.add(locationSecret(config.location));
    const password = await readPlanPassword(config.password, context.env);
    context.secrets.add(password);
    const backend = await openBackend(config.location, { caCertFile: config.cacert });
    try {
      const indexCache = indexCacheFile(cacheDirOf(context.env), config.location);
      return new PlanRepository(await openRepository(backend, password, { indexCacheFile: indexCache }), config, context);
    } catch (err) {
      await backend.close().catch(() => undefined);
      throw err;
    }
  }

  /** Runs `fn` under a lock, waiting up to the plan's lock-wait while another process holds one. */
  async locked<T>(exclusive: boolean, fn: (repo: Repository) => Promise<T>): Promise<T> {
    const lock = await this.acquire(exclusive);
    try {
      return await fn(this.repo);
    } finally {
      await lock.release().catch(() => undefined);
    }
  }

  private async acquire(exclusive: boolean): Promise<RepositoryLock> {
    const deadline = Date.now() + this.config.lockWaitMs;
    for (let attempt = 0; ; attempt++) {
      // Also the boundary between the steps of a run: once the agent stops, no step starts.
      if (this.context.signal.aborted) throw new HoldfastError('ERR_INTERRUPTED', 'interrupted: the agent is stopping');
      try {
        return await RepositoryLock.acquire(this.repo, exclusive);
      } catch (err) {
        if (!(err instanceof HoldfastError && err.code === 'ERR_LOCKED') || Date.now() >= deadline) throw err;
        if (attempt === 0) this.context.log(`${err.message}; waiting up to ${Math.round(this.config.lockWaitMs / 1000)}s`);
      }
      await delay(LOCK_RETRY_MS, undefined, { signal: this.context.signal }).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.repo.close();
  }
}

/** One name per repository however it is written, for the per-repository queue. */
export function repositoryKey(location: string): string {
  if (isRestLocation(location)) {
    const rest = parseRestLocation(location);
    return `rest:${rest.origin}${rest.basePath}`;
  }
  return resolve(location.startsWith('local:') ? location.slice('local:'.length) : location);
}
