// The `rest:` URL a client puts in its configuration. The server records where it listens, so a
// `client add` run next to it can print a URL that works without the operator assembling it.

import { readFile, writeFile } from 'node:fs/promises';
import { invalidArgument, isSystemError } from '../errors.js';
import type { DataDir } from './data-dir.js';

const fallbackBase = 'http://localhost:8000';

function checkBaseUrl(base: string): URL {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw invalidArgument(`invalid server URL "${base}": use e.g. https://backup.example.com:8000`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalidArgument(`server URL "${base}" must be http or https`);
  return u;
}

/** `rest:https://NAME:SECRET@host:port/NAME/` (restic's syntax). */
export function clientRepositoryUrl(base: string, name: string, secret: string): string {
  const u = checkBaseUrl(base);
  return `rest:${u.protocol}//${encodeURIComponent(name)}:${encodeURIComponent(secret)}@${u.host}/${encodeURIComponent(name)}/`;
}

/** The URL to print: the operator's choice, else the one the server last listened on. */
export async function serverBaseUrl(d: DataDir, override?: string): Promise<string> {
  if (override) return checkBaseUrl(override).origin;
  try {
    return checkBaseUrl((await readFile(d.serverUrl, 'utf8')).trim()).origin;
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return fallbackBase;
    throw err;
  }
}

export async function recordServerUrl(d: DataDir, url: string): Promise<void> {
  await writeFile(d.serverUrl, url + '\n', { mode: 0o600 });
}
