// The server's small parsers: durations, sizes, listen addresses, Range headers and the router
// that decides what a raw request target names.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseListen } from '../../src/server/listen-address.js';
import { parseRange } from '../../src/server/range.js';
import { route } from '../../src/server/router.js';
import { formatSize, parseDuration, parseSize } from '../../src/server/units.js';

test('durations and sizes', () => {
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration('0'), 0);
  for (const bad of ['', 'h', '5x', '10s5', '-1s']) assert.throws(() => parseDuration(bad), /invalid duration|empty duration/, bad);
  assert.equal(parseSize('4096'), 4096);
  assert.equal(parseSize('500M'), 500 * 1024 ** 2);
  assert.equal(parseSize('2GiB'), 2 * 1024 ** 3);
  assert.equal(parseSize('1.5t'), 1.5 * 1024 ** 4);
  for (const bad of ['', 'G', '5X', '-1G']) assert.throws(() => parseSize(bad), /invalid size/, bad);
  assert.equal(formatSize(100_000), '97.7 KiB');
  assert.equal(formatSize(12), '12 B');
});

test('listen addresses', () => {
  assert.deepEqual(parseListen(':8000'), { host: undefined, port: 8000 });
  assert.deepEqual(parseListen('8000'), { host: undefined, port: 8000 });
  assert.deepEqual(parseListen('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListen('[::1]:8443'), { host: '::1', port: 8443 });
  for (const bad of ['', 'host', '1.2.3.4:99999', ':port']) assert.throws(() => parseListen(bad), /invalid listen address/, bad);
});

test('Range as Go serves it', () => {
  assert.deepEqual(parseRange(undefined, 10), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=0-', 10), { kind: 'partial', start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=2-4', 10), { kind: 'partial', start: 2, end: 4 });
  assert.deepEqual(parseRange('bytes=5-100', 10), { kind: 'partial', start: 5, end: 9 });
  assert.deepEqual(parseRange('bytes=-3', 10), { kind: 'partial', start: 7, end: 9 });
  assert.deepEqual(parseRange('bytes=10-', 10), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-0', 10), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'whole' }, 'an empty file ignores Range');
  assert.deepEqual(parseRange('bytes=0-1,4-5', 10), { kind: 'whole' }, 'multiple ranges are ignored');
  assert.deepEqual(parseRange('items=0-1', 10), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=5-2', 10), { kind: 'whole' });
});

test('the router names only what its patterns allow', () => {
  const id = 'ab'.repeat(32);
  assert.deepEqual(route('/alice/?create=true'), { kind: 'repo', client: 'alice', target: { what: 'root', create: true } });
  assert.deepEqual(route('/alice/'), { kind: 'repo', client: 'alice', target: { what: 'root', create: false } });
  assert.deepEqual(route('/alice/config'), { kind: 'repo', client: 'alice', target: { what: 'config' } });
  assert.deepEqual(route('/alice/index/'), { kind: 'repo', client: 'alice', target: { what: 'list', type: 'index' } });
  assert.deepEqual(route(`/alice/data/${id}`), { kind: 'repo', client: 'alice', target: { what: 'object', type: 'data', name: id } });
  assert.deepEqual(route('/metrics'), { kind: 'metrics' });
  assert.deepEqual(route('/-/admin/clients'), { kind: 'admin', resource: 'clients' });
  for (const p of ['/alice/tmp/', '/alice/config/', `/alice/data/${id}/`, `/alice/data/${id.toUpperCase()}`, '/alice/data', `/alice/data/ab/${id}`]) {
    assert.deepEqual(route(p), { kind: 'repo', client: 'alice', target: null }, p);
  }
  for (const p of ['', 'alice/config', '/../x', '/%2e%2e/config', '/.alice/config', '/admin/config', '/-/admin/../x', 'http://h/alice/config', '/a%2fb/config']) {
    assert.deepEqual(route(p), { kind: 'none' }, p);
  }
});
