// Lock documents (locks/<id>): who holds a lock on the repository, since when, exclusive or not.
// Same shape and field order as restic's, so restic and holdfast respect each other's locks.

import { corrupt } from '../errors.js';
import { formatGoTime, type GoTime, goJsonString, parseGoTime } from './go-json.js';

export interface LockDoc {
  readonly time: GoTime;
  readonly exclusive: boolean;
  readonly hostname: string;
  readonly username: string;
  readonly pid: number;
  readonly uid?: number;
  readonly gid?: number;
}

export function encodeLock(l: LockDoc): Buffer {
  let json =
    `{"time":"${formatGoTime(l.time)}","exclusive":${l.exclusive},"hostname":${goJsonString(l.hostname)},` +
    `"username":${goJsonString(l.username)},"pid":${l.pid}`;
  if (l.uid) json += `,"uid":${l.uid}`;
  if (l.gid) json += `,"gid":${l.gid}`;
  return Buffer.from(json + '}');
}

export function decodeLock(bytes: Buffer): LockDoc {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corrupt('lock is not valid JSON');
  }
  if (typeof o['time'] !== 'string') throw corrupt('lock has no time');
  let time: GoTime;
  try {
    time = parseGoTime(o['time']);
  } catch {
    throw corrupt(`lock has an invalid time ${JSON.stringify(o['time'])}`);
  }
  const int = (v: unknown) => (Number.isSafeInteger(v) ? (v as number) : 0);
  return {
    time,
    exclusive: o['exclusive'] === true,
    hostname: typeof o['hostname'] === 'string' ? o['hostname'] : '',
    username: typeof o['username'] === 'string' ? o['username'] : '',
    pid: int(o['pid']),
    uid: int(o['uid']),
    gid: int(o['gid']),
  };
}
