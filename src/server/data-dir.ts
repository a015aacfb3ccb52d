// The layout of a server's data directory. Every path the server or its commands touch is named
// here, so the on-disk layout is defined in one place (docs/server.md describes it).

import { join } from 'node:path';

export interface DataDir {
  readonly root: string;
  /** Accounts: admin and client secrets (scrypt hashes only), flags and quotas. */
  readonly accounts: string;
  /** Held while a command edits the accounts file. */
  readonly accountsLock: string;
  /** The URL the server last listened on, so `client add` can print a complete repository URL. */
  readonly serverUrl: string;
  /** One restic repository per client, in the local-backend layout. */
  readonly repos: string;
  /** Audit state and history, one directory per client. */
  readonly audit: string;
}

export function dataDir(root: string): DataDir {
  return {
    root,
    accounts: join(root, 'accounts.json'),
    accountsLock: join(root, 'accounts.lock'),
    serverUrl: join(root, 'server-url'),
    repos: join(root, 'repos'),
    audit: join(root, 'audit'),
  };
}

export function repoDirOf(d: DataDir, client: string): string {
  return join(d.repos, client);
}

export function auditDirOf(d: DataDir, client: string): string {
  return join(d.audit, client);
}

/** A file's path inside its repository, as the audit records it: `config`, `keys/<id>`, `data/ab/<id>`. */
export function repoRelPath(type: string, name: string): string {
  if (type === 'config') return 'config';
  return type === 'data' ? `data/${name.slice(0, 2)}/${name}` : `${type}/${name}`;
}
