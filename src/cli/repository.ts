// Opening the repository a command works on: location, backend, password, key, lock; and
// letting go of all of it however the command ends, Ctrl-C included.

import type { Backend } from '../backend/backend.js';
import { openBackend } from '../backend/location.js';
import { isRestLocation } from '../backend/rest-url.js';
import { HoldfastError } from '../errors.js';
import { indexCacheFile } from '../repository/index-cache.js';
import { initRepository, openRepository } from '../repository/keys.js';
import { RepositoryLock } from '../repository/locks.js';
import type { Repository, RepositoryOptions } from '../repository/repository.js';
import { cacheDirectory, type GlobalOptions, repositoryLocation } from './global-options.js';
import { readNewPassword, readPassword } from './password.js';

export type LockMode = 'none' | 'shared' | 'exclusive';

export function repositoryOptions(g: GlobalOptions): RepositoryOptions {
  const packSizeMiB = g.packSize ?? (process.env.HOLDFAST_PACK_SIZE ? Number(process.env.HOLDFAST_PACK_SIZE) : undefined);
  if (packSizeMiB !== undefined && !(packSizeMiB >= 4 && packSizeMiB <= 128)) {
    throw new HoldfastError('ERR_INVALID_ARGUMENT', `--pack-size must be between 4 and 128 MiB, got ${packSizeMiB}`);
  }
  const cacheDir = cacheDirectory(g);
  return {
    compression: g.compression as RepositoryOptions['compression'],
    packSize: packSizeMiB === undefined ? undefined : packSizeMiB * 1024 * 1024,
    indexCacheFile: cacheDir && indexCacheFile(cacheDir, repositoryLocation(g).location),
  };
}

export async function backendFor(g: GlobalOptions): Promise<Backend> {
  const { location } = repositoryLocation(g);
  return openBackend(location, { caCertFile: g.cacert ?? process.env.HOLDFAST_CACERT });
}

/** The note a command prints when it creates the repository it was asked to use. */
export function creatingRepository(location: string, isDefault: boolean): string {
  return `creating ${isDefault ? 'the default repository' : 'the repository'} at ${location}`;
}

export interface OpenOptions {
  readonly lock: LockMode;
  /**
   * Create the repository when it does not exist yet, telling the user through this callback:
   * the default one (no -r given), or one on a REST server, where the server's admin made the
   * account and the first backup creates its repository. A local path given with -r must exist.
   */
  readonly createMissing?: (location: string, isDefault: boolean) => void;
  /** Aborted on the first Ctrl-C, for commands that stop cleanly by themselves. */
  readonly interrupt?: AbortController;
  /** The password, when it comes from other sources than the usual ones (copy's source repository). */
  readonly password?: () => Promise<string>;
  /** Try the key file whose id starts with this first. */
  readonly keyHint?: string;
}

/**
 * Ctrl-C during a command: a command that can stop gracefully (backup writes its index first)
 * passes an AbortController and is asked to stop; otherwise, or on a second Ctrl-C, locks are
 * released and the process exits the way restic does (130).
 */
const cleanups = new Set<() => Promise<void>>();
const graceful = new Set<AbortController>();
let interrupts = 0;

function onSignal(): void {
  interrupts++;
  if (interrupts === 1 && graceful.size > 0) {
    process.stderr.write('\nholdfast: interrupted, stopping cleanly (press Ctrl-C again to stop at once)\n');
    for (const c of graceful) c.abort();
    return;
  }
  if (interrupts > 2) process.exit(130);
  process.stderr.write('\nholdfast: interrupted, releasing locks\n');
  void Promise.allSettled([...cleanups].map((c) => c())).then(() => process.exit(130));
}

function watchInterrupts(cleanup: () => Promise<void>, controller?: AbortController): () => void {
  if (cleanups.size === 0 && graceful.size === 0) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  cleanups.add(cleanup);
  if (controller) graceful.add(controller);
  return () => {
    cleanups.delete(cleanup);
    if (controller) graceful.delete(controller);
    if (cleanups.size === 0 && graceful.size === 0) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  };
}

async function openOrCreate(g: GlobalOptions, options: OpenOptions): Promise<Repository> {
  const backend = await backendFor(g);
  const { location, explicit } = repositoryLocation(g);
  try {
    return await openRepository(backend, await (options.password ?? (() => readPassword(g)))(), { ...repositoryOptions(g), keyHint: options.keyHint });
  } catch (err) {
    const creatable = !explicit || isRestLocation(location);
    if (!(err instanceof HoldfastError && err.code === 'ERR_REPO_MISSING') || !creatable || !options.createMissing) throw err;
  }
  // The backend's name for it: a REST URL's secret is masked.
  options.createMissing(backend.location, !explicit);
  return initRepository(backend, await readNewPassword(g), repositoryOptions(g));
}

/** Opens the repository, takes the lock, runs `fn`, and always releases and closes. */
export async function withRepository<T>(g: GlobalOptions, options: OpenOptions, fn: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await openOrCreate(g, options);
  let lock: RepositoryLock | undefined;
  const cleanup = async () => {
    await lock?.release().catch(() => undefined);
  };
  const forget = watchInterrupts(cleanup, options.interrupt);
  try {
    if (options.lock !== 'none' && g.lock !== false) lock = await RepositoryLock.acquire(repo, options.lock === 'exclusive');
    return await fn(repo);
  } finally {
    forget();
    await cleanup();
    await repo.close();
  }
}
