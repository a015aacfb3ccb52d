// The accounts file: the admin credential and every client with its secret hash, append-only flag
// and quota. Commands edit it under a lock with an atomic replace; the server reloads it on change.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HoldfastError, invalidArgument, isSystemError } from '../errors.js';
import { syncDir } from '../backend/local.js';
import { checkClientName } from './client-name.js';
import { type DataDir, dataDir } from './data-dir.js';
import { withFileLock } from './file-lock.js';
import { hashSecret, newSecret, type SecretHash } from './secrets.js';

export interface ClientAccount {
  readonly secret: SecretHash;
  readonly appendOnly: boolean;
  /** Bytes the client's repository may hold; null for no limit. */
  readonly quota: number | null;
  readonly created: string;
}

export interface Accounts {
  readonly version: 1;
  readonly admin: SecretHash;
  readonly clients: Readonly<Record<string, ClientAccount>>;
}

/** A client as commands and the admin API show it: never its secret hash. */
export interface ClientInfo {
  readonly name: string;
  readonly appendOnly: boolean;
  readonly quota: number | null;
  readonly created: string;
}

export const ADMIN_USER = 'admin';

export function clientInfo(name: string, a: ClientAccount): ClientInfo {
  return { name, appendOnly: a.appendOnly, quota: a.quota, created: a.created };
}

export async function readAccounts(d: DataDir): Promise<Accounts> {
  let text: string;
  try {
    text = await readFile(d.accounts, 'utf8');
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) {
      throw new HoldfastError('ERR_CONFIG', `${d.root} is not a server data directory: run "holdfast server init --data ${d.root}"`);
    }
    throw err;
  }
  let parsed: Accounts;
  try {
    parsed = JSON.parse(text) as Accounts;
  } catch (err) {
    throw new HoldfastError('ERR_CONFIG', `${d.accounts} is not valid JSON`, { cause: err });
  }
  if (parsed.version !== 1 || typeof parsed.admin?.hash !== 'string' || typeof parsed.clients !== 'object') {
    throw new HoldfastError('ERR_CONFIG', `${d.accounts} is not a holdfast accounts file (version 1)`);
  }
  return parsed;
}

/** Replaces the file atomically and durably: a crash leaves the old or the new accounts, never half. */
async function writeAccounts(d: DataDir, accounts: Accounts): Promise<void> {
  const temp = `${d.accounts}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    const fh = await open(temp, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify(accounts, null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, d.accounts);
    await syncDir(dirname(d.accounts));
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function editAccounts<T>(d: DataDir, edit: (a: Accounts) => Promise<{ next: Accounts; result: T }>): Promise<T> {
  // Read once before locking: a directory that is not a server's gets its clear message, not the lock's ENOENT.
  await readAccounts(d);
  return withFileLock(d.accountsLock, async () => {
    const { next, result } = await edit(await readAccounts(d));
    await writeAccounts(d, next);
    return result;
  });
}

export interface InitResult {
  readonly dataDir: string;
  /** Set only when this call created the accounts: the admin secret, shown this once. */
  readonly adminSecret: string | null;
}

/** Creates the data directory and the admin credential; an existing directory is left as it is. */
export async function initDataDir(root: string): Promise<InitResult> {
  const d = dataDir(root);
  await mkdir(d.repos, { recursive: true, mode: 0o700 });
  await mkdir(d.audit, { recursive: true, mode: 0o700 });
  return withFileLock(d.accountsLock, async () => {
    if (await exists(d.accounts)) return { dataDir: root, adminSecret: null };
    const adminSecret = newSecret();
    await writeAccounts(d, { version: 1, admin: await hashSecret(adminSecret), clients: {} });
    return { dataDir: root, adminSecret };
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return false;
    throw err;
  }
}

export interface ClientSettings {
  readonly appendOnly?: boolean | undefined;
  /** Bytes, or null to remove the quota; undefined leaves it unchanged. */
  readonly quota?: number | null | undefined;
}

function checkQuota(quota: number | null | undefined): void {
  if (quota !== null && quota !== undefined && (!Number.isSafeInteger(quota) || quota < 0)) {
    throw invalidArgument(`invalid quota ${quota}: give a size such as 500G, or "none"`);
  }
}

export async function addClient(d: DataDir, name: string, settings: ClientSettings = {}): Promise<ClientInfo & { secret: string }> {
  checkClientName(name);
  checkQuota(settings.quota);
  const secret = newSecret();
  const hash = await hashSecret(secret);
  return editAccounts(d, async (a) => {
    if (a.clients[name]) throw new HoldfastError('ERR_ALREADY_EXISTS', `client "${name}" already exists`);
    const account: ClientAccount = {
      secret: hash,
      appendOnly: settings.appendOnly ?? false,
      quota: settings.quota ?? null,
      created: new Date().toISOString(),
    };
    return { next: { ...a, clients: { ...a.clients, [name]: account } }, result: { ...clientInfo(name, account), secret } };
  });
}

function unknownClient(name: string): HoldfastError {
  return new HoldfastError('ERR_NOT_FOUND', `no client "${name}" (see "holdfast server client list")`);
}

export async function setClient(d: DataDir, name: string, settings: ClientSettings): Promise<ClientInfo> {
  checkQuota(settings.quota);
  return editAccounts(d, async (a) => {
    const old = a.clients[name];
    if (!old) throw unknownClient(name);
    const account: ClientAccount = {
      ...old,
      appendOnly: settings.appendOnly ?? old.appendOnly,
      quota: settings.quota === undefined ? old.quota : settings.quota,
    };
    return { next: { ...a, clients: { ...a.clients, [name]: account } }, result: clientInfo(name, account) };
  });
}

/** Removes the account only: the repository stays on disk until an operator deletes it. */
export async function removeClient(d: DataDir, name: string): Promise<void> {
  await editAccounts(d, async (a) => {
    if (!a.clients[name]) throw unknownClient(name);
    const clients = { ...a.clients };
    delete clients[name];
    return { next: { ...a, clients }, result: undefined };
  });
}

export async function listClients(d: DataDir): Promise<ClientInfo[]> {
  const a = await readAccounts(d);
  return Object.entries(a.clients)
    .map(([name, account]) => clientInfo(name, account))
    .sort((x, y) => x.name.localeCompare(y.name));
}
