// Creating and opening repositories with passwords, and managing their key files: init, open
// (every key file is tried), add, remove and change passwords.

import { hostname, userInfo } from 'node:os';
import type { Backend } from '../backend/backend.js';
import { randomPolynomial } from '../chunker/polynomial.js';
import { HoldfastError } from '../errors.js';
import { encodeConfig, type RepoConfig } from '../format/config.js';
import { type CryptoKey, newRandomKey, seal } from '../format/crypto.js';
import { goTimeFromDate } from '../format/go-json.js';
import { hashId, randomId } from '../format/id.js';
import { createKeyFile, decodeKeyFile, defaultKdfParams, encodeKeyFile, type KdfParams, type KeyFile, openKeyFile } from '../format/key-file.js';
import { Repository, type RepositoryOptions } from './repository.js';

export interface InitOptions extends RepositoryOptions {
  readonly version?: 1 | 2;
  /** Reuse another repository's polynomial so chunks deduplicate across both (restic copy). */
  readonly chunkerPolynomial?: bigint;
  readonly kdf?: KdfParams;
}

/**
 * KDF parameters: restic-like by default; HOLDFAST_KDF="N=16384,r=8,p=1" lowers them, which
 * is only sensible for tests and throwaway repositories.
 */
export function kdfFromEnvironment(): KdfParams {
  const spec = process.env.HOLDFAST_KDF;
  if (!spec) return defaultKdfParams;
  const parts = Object.fromEntries(spec.split(',').map((kv) => kv.split('=').map((s) => s.trim())));
  const params = { N: Number(parts['N']), r: Number(parts['r']), p: Number(parts['p']) };
  if (![params.N, params.r, params.p].every((n) => Number.isSafeInteger(n) && n > 0) || (params.N & (params.N - 1)) !== 0) {
    throw new HoldfastError('ERR_INVALID_ARGUMENT', `HOLDFAST_KDF="${spec}" is invalid: expected N=<power of 2>,r=<n>,p=<n>`);
  }
  return params;
}

function currentUser(): { username: string; hostname: string } {
  let username = '';
  try {
    username = userInfo().username;
  } catch {
    // No passwd entry (containers): restic also writes an empty user name then.
  }
  return { username, hostname: hostname() };
}

async function saveKeyFile(backend: Backend, file: KeyFile): Promise<string> {
  const bytes = encodeKeyFile(file);
  const id = hashId(bytes);
  await backend.write({ type: 'keys', name: id }, bytes);
  return id;
}

async function configExists(backend: Backend): Promise<boolean> {
  try {
    await backend.stat({ type: 'config' });
    return true;
  } catch (err) {
    if (err instanceof HoldfastError && err.code === 'ERR_NOT_FOUND') return false;
    throw err;
  }
}

export async function initRepository(backend: Backend, password: string, options: InitOptions = {}): Promise<Repository> {
  if (await configExists(backend)) {
    throw new HoldfastError('ERR_REPO_EXISTS', `a repository already exists at ${backend.location}`);
  }
  await backend.create();
  const master = newRandomKey();
  const file = await createKeyFile(password, master, { ...currentUser(), created: goTimeFromDate(new Date()) }, options.kdf ?? kdfFromEnvironment());
  const keyId = await saveKeyFile(backend, file);
  const config: RepoConfig = {
    version: options.version ?? 2,
    id: randomId(),
    chunkerPolynomial: options.chunkerPolynomial ?? randomPolynomial(),
  };
  // The config is written last: until it exists, the directory is not a repository.
  await backend.write({ type: 'config' }, seal(master, encodeConfig(config)));
  return Repository.fromKey(backend, master, keyId, options);
}

/** restic tries at most this many key files; so do we, so both agree on what "no key" means. */
const MAX_KEYS_TRIED = 20;

/** Finds the key file that the password opens. Returns its id and the master key. */
export async function findKey(backend: Backend, password: string, keyHint?: string): Promise<{ keyId: string; master: CryptoKey }> {
  const ids: string[] = [];
  for await (const f of backend.list('keys')) ids.push(f.name);
  if (keyHint) ids.sort((a, b) => Number(b.startsWith(keyHint)) - Number(a.startsWith(keyHint)));
  const problems: string[] = [];
  for (const id of ids.slice(0, MAX_KEYS_TRIED)) {
    let file: KeyFile;
    try {
      file = decodeKeyFile(await backend.read({ type: 'keys', name: id }));
    } catch (err) {
      problems.push(`keys/${id.slice(0, 8)}: ${(err as Error).message}`);
      continue;
    }
    const master = await openKeyFile(file, password);
    if (master) return { keyId: id, master };
  }
  if (ids.length === 0) throw new HoldfastError('ERR_CORRUPT', `repository at ${backend.location} has no key files`);
  if (problems.length === ids.length) {
    throw new HoldfastError('ERR_CORRUPT', `no usable key file in ${backend.location}: ${problems.join('; ')}`);
  }
  throw new HoldfastError('ERR_WRONG_PASSWORD', 'wrong password or no key found');
}

export async function openRepository(backend: Backend, password: string, options: RepositoryOptions & { keyHint?: string } = {}): Promise<Repository> {
  if (!(await configExists(backend))) {
    throw new HoldfastError('ERR_REPO_MISSING', `no repository at ${backend.location} (holdfast init creates one)`);
  }
  const { keyId, master } = await findKey(backend, password, options.keyHint);
  return Repository.fromKey(backend, master, keyId, options);
}

export interface KeyInfo {
  readonly id: string;
  readonly current: boolean;
  readonly username: string;
  readonly hostname: string;
  readonly created: KeyFile['created'];
  readonly params: KdfParams;
}

export async function listKeys(repo: Repository): Promise<KeyInfo[]> {
  const keys: KeyInfo[] = [];
  for await (const f of repo.backend.list('keys')) {
    const file = decodeKeyFile(await repo.backend.read({ type: 'keys', name: f.name }));
    keys.push({ id: f.name, current: f.name === repo.keyId, username: file.username, hostname: file.hostname, created: file.created, params: file.params });
  }
  return keys.sort((a, b) => (a.created.ns < b.created.ns ? -1 : 1));
}

export async function addKey(repo: Repository, password: string, who: Partial<{ username: string; hostname: string }> = {}): Promise<string> {
  const file = await createKeyFile(password, repo.key, { ...currentUser(), ...who, created: goTimeFromDate(new Date()) }, kdfFromEnvironment());
  return saveKeyFile(repo.backend, file);
}

export async function removeKey(repo: Repository, id: string): Promise<void> {
  if (id === repo.keyId) {
    throw new HoldfastError('ERR_INVALID_ARGUMENT', 'refusing to remove the key currently in use (open the repository with another key to remove it)');
  }
  await repo.backend.stat({ type: 'keys', name: id });
  await repo.backend.remove({ type: 'keys', name: id });
}

/** Adds a key for the new password, then removes the one in use; returns the new key's id. */
export async function changePassword(repo: Repository, newPassword: string): Promise<string> {
  const id = await addKey(repo, newPassword);
  await repo.backend.remove({ type: 'keys', name: repo.keyId });
  return id;
}
