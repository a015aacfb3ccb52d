// The snapshot document (snapshots/<id>): restic 0.14's fields in Go order, then newer restic's
// program_version and summary; fields we do not know are kept verbatim so a rewrite preserves them.

import { invalidArgument } from '../errors.js';
import { formatGoTime, type GoTime, goJsonString, parseGoTime, zeroGoTime } from './go-json.js';
import { JsonReader } from './json-reader.js';

/** Backup statistics, as restic >= 0.17 records them (restic 0.14 ignores the field). */
export interface SnapshotSummary {
  backupStart: GoTime;
  backupEnd: GoTime;
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  dirsNew: number;
  dirsChanged: number;
  dirsUnmodified: number;
  dataBlobs: number;
  treeBlobs: number;
  /** Bytes of new blobs before compression. */
  dataAdded: number;
  /** Bytes of new blobs as stored in packs. */
  dataAddedPacked: number;
  totalFilesProcessed: number;
  totalBytesProcessed: number;
}

/** Optional fields are the ones Go omits when empty or zero. */
export interface Snapshot {
  time: GoTime;
  /** Storage id of the snapshot this one was compared against. */
  parent?: string;
  /** Id of the root tree blob. */
  tree: string;
  paths: string[];
  hostname?: string;
  username?: string;
  uid?: number;
  gid?: number;
  excludes?: string[];
  tags?: string[];
  /** Storage id of the snapshot this one was rewritten from. */
  original?: string;
  programVersion?: string;
  summary?: SnapshotSummary;
  /**
   * holdfast's open-file log: files another process held open for writing while the backup read
   * them, which may therefore be inconsistent. restic ignores the field.
   */
  openFiles?: string[];
  /**
   * Fields this version does not know, as [key, raw JSON text] in the order they were read. They
   * are written back after the known fields, so rewriting a newer tool's snapshot keeps them.
   */
  unknownFields?: Array<[key: string, json: string]>;
}

const summaryKeys: Array<[json: string, field: Exclude<keyof SnapshotSummary, 'backupStart' | 'backupEnd'>]> = [
  ['files_new', 'filesNew'],
  ['files_changed', 'filesChanged'],
  ['files_unmodified', 'filesUnmodified'],
  ['dirs_new', 'dirsNew'],
  ['dirs_changed', 'dirsChanged'],
  ['dirs_unmodified', 'dirsUnmodified'],
  ['data_blobs', 'dataBlobs'],
  ['tree_blobs', 'treeBlobs'],
  ['data_added', 'dataAdded'],
  ['data_added_packed', 'dataAddedPacked'],
  ['total_files_processed', 'totalFilesProcessed'],
  ['total_bytes_processed', 'totalBytesProcessed'],
];
const summaryFieldOfKey = new Map(summaryKeys);

const knownKeys = new Set([
  'time',
  'parent',
  'tree',
  'paths',
  'hostname',
  'username',
  'uid',
  'gid',
  'excludes',
  'tags',
  'original',
  'program_version',
  'summary',
  'holdfast_open_files',
]);

function stringArrayJson(values: readonly string[]): string {
  return '[' + values.map(goJsonString).join(',') + ']';
}

function encodeSummary(summary: SnapshotSummary): string {
  let s = '{"backup_start":"' + formatGoTime(summary.backupStart) + '","backup_end":"' + formatGoTime(summary.backupEnd) + '"';
  for (const [key, field] of summaryKeys) s += ',"' + key + '":' + summary[field];
  return s + '}';
}

const idPattern = /^[0-9a-f]{64}$/;

function checkId(id: string, field: string): void {
  if (!idPattern.test(id)) throw invalidArgument(`snapshot ${field}: invalid id ${JSON.stringify(id)}`);
}

/** The snapshot file's plaintext: compact JSON in Go field order, no trailing newline. */
export function encodeSnapshot(sn: Snapshot): Buffer {
  checkId(sn.tree, 'tree');
  let s = '{"time":"' + formatGoTime(sn.time) + '"';
  if (sn.parent) {
    checkId(sn.parent, 'parent');
    s += ',"parent":"' + sn.parent + '"';
  }
  s += ',"tree":"' + sn.tree + '","paths":' + stringArrayJson(sn.paths);
  if (sn.hostname) s += ',"hostname":' + goJsonString(sn.hostname);
  if (sn.username) s += ',"username":' + goJsonString(sn.username);
  if (sn.uid) s += ',"uid":' + sn.uid;
  if (sn.gid) s += ',"gid":' + sn.gid;
  if (sn.excludes?.length) s += ',"excludes":' + stringArrayJson(sn.excludes);
  if (sn.tags?.length) s += ',"tags":' + stringArrayJson(sn.tags);
  if (sn.original) {
    checkId(sn.original, 'original');
    s += ',"original":"' + sn.original + '"';
  }
  if (sn.programVersion) s += ',"program_version":' + goJsonString(sn.programVersion);
  if (sn.summary) s += ',"summary":' + encodeSummary(sn.summary);
  if (sn.openFiles?.length) s += ',"holdfast_open_files":' + stringArrayJson(sn.openFiles);
  for (const [key, json] of sn.unknownFields ?? []) s += ',' + goJsonString(key) + ':' + json;
  return Buffer.from(s + '}', 'utf8');
}

function readTime(r: JsonReader): GoTime {
  try {
    return parseGoTime(r.readString());
  } catch (err) {
    return r.fail((err as Error).message);
  }
}

function readId(r: JsonReader): string {
  const id = r.readString();
  if (!/^[0-9a-fA-F]{64}$/.test(id)) r.fail(`invalid id ${JSON.stringify(id)}`);
  return id.toLowerCase();
}

function readStrings(r: JsonReader): string[] {
  const values: string[] = [];
  r.beginArray();
  while (r.nextItem()) values.push(r.readNull() ? '' : r.readString());
  return values;
}

function readCount(r: JsonReader): number {
  const n = r.readNumber();
  if (!Number.isSafeInteger(n)) r.fail(`expected an integer, got ${n}`);
  return n;
}

function readSummary(r: JsonReader): SnapshotSummary {
  const summary: SnapshotSummary = {
    backupStart: zeroGoTime,
    backupEnd: zeroGoTime,
    filesNew: 0,
    filesChanged: 0,
    filesUnmodified: 0,
    dirsNew: 0,
    dirsChanged: 0,
    dirsUnmodified: 0,
    dataBlobs: 0,
    treeBlobs: 0,
    dataAdded: 0,
    dataAddedPacked: 0,
    totalFilesProcessed: 0,
    totalBytesProcessed: 0,
  };
  r.beginObject();
  for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) {
    if (r.readNull()) continue;
    const folded = key.toLowerCase();
    const field = summaryFieldOfKey.get(folded);
    if (field !== undefined) summary[field] = readCount(r);
    else if (folded === 'backup_start') summary.backupStart = readTime(r);
    else if (folded === 'backup_end') summary.backupEnd = readTime(r);
    else r.skipValue();
  }
  return summary;
}

/**
 * Reads a snapshot file's plaintext. As with Go's decoder, keys match case-insensitively and
 * nulls leave fields empty; unknown fields are kept in `unknownFields`. A snapshot without a
 * tree, or with a malformed value, is a corrupt() error.
 */
export function decodeSnapshot(data: Uint8Array | string): Snapshot {
  const r = typeof data === 'string' ? new JsonReader(data, 'snapshot') : JsonReader.fromBytes(data, 'snapshot');
  const sn: Snapshot = { time: zeroGoTime, tree: '', paths: [] };
  const unknown: Array<[string, string]> = [];
  r.beginObject();
  for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) {
    const folded = key.toLowerCase();
    if (!knownKeys.has(folded)) {
      unknown.push([key, r.rawValue()]);
      continue;
    }
    if (r.readNull()) continue;
    switch (folded) {
      case 'time':
        sn.time = readTime(r);
        break;
      case 'parent':
        sn.parent = readId(r);
        break;
      case 'tree':
        sn.tree = readId(r);
        break;
      case 'paths':
        sn.paths = readStrings(r);
        break;
      case 'hostname':
        sn.hostname = r.readString();
        break;
      case 'username':
        sn.username = r.readString();
        break;
      case 'uid':
        sn.uid = r.readUint(0xffff_ffff);
        break;
      case 'gid':
        sn.gid = r.readUint(0xffff_ffff);
        break;
      case 'excludes':
        sn.excludes = readStrings(r);
        break;
      case 'tags':
        sn.tags = readStrings(r);
        break;
      case 'original':
        sn.original = readId(r);
        break;
      case 'program_version':
        sn.programVersion = r.readString();
        break;
      case 'summary':
        sn.summary = readSummary(r);
        break;
      case 'holdfast_open_files':
        sn.openFiles = readStrings(r);
        break;
    }
  }
  r.end();
  if (sn.tree === '') r.fail('snapshot without a tree');
  if (unknown.length > 0) sn.unknownFields = unknown;
  return sn;
}
