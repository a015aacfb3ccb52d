// Snapshot documents: restic 0.14's field order and omissions, newer restic's program_version and
// summary, unknown fields kept through a rewrite, and Go's tolerant reading.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HoldfastError } from '../../src/errors.js';
import { parseGoTime } from '../../src/format/go-json.js';
import { decodeSnapshot, encodeSnapshot, type Snapshot } from '../../src/format/snapshot.js';

const isCorrupt = (err: unknown): boolean => err instanceof HoldfastError && err.code === 'ERR_CORRUPT';

const tree = 'c3215abefb7bf980cfd983c6df0b9b13707a4ae70c2ac64fbf07a645b0742558';
const parent = '1'.repeat(64);
const original = '2'.repeat(64);

test('a restic 0.14 snapshot round trips byte for byte', () => {
  const json = `{"time":"2026-11-26T01:24:33.760656712Z","tree":"${tree}","paths":["/srv/data"],"hostname":"vm","username":"root"}`;
  const sn = decodeSnapshot(Buffer.from(json));
  assert.deepEqual(sn, {
    time: parseGoTime('2026-11-26T01:24:33.760656712Z'),
    tree,
    paths: ['/srv/data'],
    hostname: 'vm',
    username: 'root',
  });
  assert.equal(encodeSnapshot(sn).toString(), json);
});

const fullJson =
  `{"time":"2026-11-26T02:00:00.5+01:00","parent":"${parent}","tree":"${tree}","paths":["/srv/a","/srv/\\u003cb\\u003e"],` +
  `"hostname":"host","username":"ann","uid":1000,"gid":100,"excludes":["*.tmp"],"tags":["daily","x\\"y"],"original":"${original}",` +
  `"program_version":"holdfast 0.1.0","summary":{"backup_start":"2026-11-26T01:59:00Z","backup_end":"2026-11-26T02:00:00.5+01:00",` +
  `"files_new":1,"files_changed":2,"files_unmodified":3,"dirs_new":4,"dirs_changed":5,"dirs_unmodified":6,"data_blobs":7,` +
  `"tree_blobs":8,"data_added":9007199254740991,"data_added_packed":10,"total_files_processed":11,"total_bytes_processed":12}}`;

test('every field, in restic order, with program_version and summary after original', () => {
  const sn = decodeSnapshot(fullJson);
  assert.equal(sn.parent, parent);
  assert.equal(sn.original, original);
  assert.deepEqual(sn.paths, ['/srv/a', '/srv/<b>']);
  assert.deepEqual(sn.tags, ['daily', 'x"y']);
  assert.equal(sn.uid, 1000);
  assert.equal(sn.programVersion, 'holdfast 0.1.0');
  assert.equal(sn.summary?.dataAdded, 9007199254740991);
  assert.equal(sn.summary?.totalBytesProcessed, 12);
  assert.deepEqual(sn.summary?.backupStart, parseGoTime('2026-11-26T01:59:00Z'));
  assert.equal(encodeSnapshot(sn).toString(), fullJson);
});

test('zero and empty fields are omitted as Go omits them', () => {
  const sn: Snapshot = {
    time: parseGoTime('2026-01-01T00:00:00Z'),
    tree,
    paths: [],
    hostname: '',
    uid: 0,
    excludes: [],
    tags: [],
  };
  assert.equal(encodeSnapshot(sn).toString(), `{"time":"2026-01-01T00:00:00Z","tree":"${tree}","paths":[]}`);
});

test('unknown fields survive a rewrite, after the known ones', () => {
  const json = `{"open_files":{"skipped":[ "/a" ]},"time":"2026-01-01T00:00:00Z","tree":"${tree}","paths":["/"],"x-extra":null}`;
  const sn = decodeSnapshot(json);
  assert.deepEqual(sn.unknownFields, [
    ['open_files', '{"skipped":[ "/a" ]}'],
    ['x-extra', 'null'],
  ]);
  sn.tags = ['rewritten'];
  assert.equal(
    encodeSnapshot(sn).toString(),
    `{"time":"2026-01-01T00:00:00Z","tree":"${tree}","paths":["/"],"tags":["rewritten"],"open_files":{"skipped":[ "/a" ]},"x-extra":null}`,
  );
});

test('reading is tolerant: key case, nulls, partial summary', () => {
  const sn = decodeSnapshot(
    `{"Time":"2026-01-01T00:00:00Z","TREE":"${tree.toUpperCase()}","paths":null,"hostname":null,"summary":{"files_new":5,"backup_end":null,"future":1}}`,
  );
  assert.equal(sn.tree, tree);
  assert.deepEqual(sn.paths, []);
  assert.equal(sn.hostname, undefined);
  assert.equal(sn.summary?.filesNew, 5);
  assert.equal(sn.summary?.dirsNew, 0);
  assert.equal(sn.unknownFields, undefined);
});

test('malformed snapshots are corrupt data', () => {
  const bad = [
    '{"time":"2026-01-01T00:00:00Z","paths":[]}',
    `{"time":"soon","tree":"${tree}"}`,
    `{"tree":"${tree}","parent":"abc"}`,
    `{"tree":"${tree}","uid":-1}`,
    `{"tree":"${tree}","summary":{"files_new":1.5}}`,
    `{"tree":"${tree}"`,
  ];
  for (const json of bad) assert.throws(() => decodeSnapshot(json), isCorrupt, json);
});

test('the open-file log is written after the summary and read back', () => {
  const sn = decodeSnapshot(Buffer.from('{"time":"2020-01-02T03:04:05Z","tree":"' + 'a'.repeat(64) + '","paths":["/x"]}'));
  sn.openFiles = ['/x/db.sqlite', '/x/log "1"'];
  const text = encodeSnapshot(sn).toString();
  assert.ok(text.endsWith(',"holdfast_open_files":["/x/db.sqlite","/x/log \\"1\\""]}'));
  assert.deepEqual(decodeSnapshot(Buffer.from(text)).openFiles, sn.openFiles);
});
