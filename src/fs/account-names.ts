// User and group names for uids and gids, as restic records them: read from /etc/passwd and
// /etc/group once per process (restic asks NSS and caches per id), and '' for an unknown id.

import { readFile } from 'node:fs/promises';
import { isSystemError } from '../errors.js';

export interface AccountNames {
  /** The user name of a uid, or '' when it has none (restic then omits `user`). */
  user(uid: number): string;
  /** The group name of a gid, or '' when it has none. */
  group(gid: number): string;
}

/**
 * name -> id from a colon file (passwd: name:pw:uid:..., group: name:pw:gid:...). Like glibc's
 * files backend, leading blanks and `#` comment lines are skipped, lines with too few fields or
 * a non-numeric id are ignored, and the first line for an id wins.
 */
export function parseColonFile(text: string, minFields: number): Map<number, string> {
  const names = new Map<number, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trimStart();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    if (fields.length < minFields || !/^\d+$/.test(fields[2]!)) continue;
    const id = Number(fields[2]);
    if (id > 0xffff_ffff || names.has(id)) continue;
    names.set(id, fields[0]!);
  }
  return names;
}

async function readOptional(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    // A system without the file has no names; anything else is worth a real error.
    if (isSystemError(err, 'ENOENT')) return '';
    throw err;
  }
}

/** Names from the given files (the system's by default); exported for tests. */
export async function loadAccountNames(passwdPath = '/etc/passwd', groupPath = '/etc/group'): Promise<AccountNames> {
  const [passwd, group] = await Promise.all([readOptional(passwdPath), readOptional(groupPath)]);
  const users = parseColonFile(passwd, 7);
  const groups = parseColonFile(group, 4);
  return {
    user: (uid) => users.get(uid) ?? '',
    group: (gid) => groups.get(gid) ?? '',
  };
}

let systemNames: Promise<AccountNames> | undefined;

/** The system's names, loaded on first use and kept for the life of the process, as restic does. */
export function accountNames(): Promise<AccountNames> {
  systemNames ??= loadAccountNames();
  return systemNames;
}
