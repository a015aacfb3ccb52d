// The text conventions browse commands share with restic 0.14: byte sizes, Go mode strings, Go's
// time format, and tables whose cells span lines.

import assert from 'node:assert/strict';
import test from 'node:test';
import { GoMode } from '../../src/format/file-mode.js';
import { makeNode } from '../../src/format/node.js';
import { renderResticTable } from '../../src/ui/restic-table.js';
import { goFileModeString, goFixed, goTimeString, longListing, resticBytes } from '../../src/ui/restic-text.js';

process.env.TZ = 'Europe/Berlin';

test('sizes switch unit only above the unit, as restic\'s formatBytes does', () => {
  assert.equal(resticBytes(0), '0 B');
  assert.equal(resticBytes(1024), '1024 B');
  assert.equal(resticBytes(1025), '1.001 KiB');
  assert.equal(resticBytes(3 * 2 ** 20 + 2 ** 19), '3.500 MiB');
  // Exactly halfway: Go rounds to the even digit, toFixed would round up (7.563).
  assert.equal(resticBytes(7744), '7.562 KiB');
  assert.equal(resticBytes(7745), '7.563 KiB');
  assert.equal(goFixed(2.5, 0), '2');
  assert.equal(goFixed(3.5, 0), '4');
  assert.equal(goFixed(27.4375, 2), '27.44');
  assert.equal(goFixed(27.4425, 2), (27.4425).toFixed(2), 'not exactly halfway in binary: ordinary rounding');
  assert.equal(resticBytes(2 ** 41), '2.000 TiB');
});

test('mode strings are Go\'s FileMode.String()', () => {
  assert.equal(goFileModeString(0o644), '-rw-r--r--');
  assert.equal(goFileModeString(GoMode.dir | 0o755), 'drwxr-xr-x');
  assert.equal(goFileModeString(GoMode.symlink | 0o777), 'Lrwxrwxrwx');
  assert.equal(goFileModeString(GoMode.device | GoMode.charDevice | 0o620), 'Dcrw--w----');
  assert.equal(goFileModeString(GoMode.namedPipe | 0o600), 'prw-------');
  assert.equal(goFileModeString(GoMode.dir | GoMode.sticky | 0o777), 'dtrwxrwxrwx');
  assert.equal(goFileModeString(GoMode.setuid | GoMode.setgid | 0o755), 'ugrwxr-xr-x');
});

test('times print as Go prints them, named UTC, local or by their offset', () => {
  assert.equal(goTimeString({ ns: 1577934245_000000000n, offsetMinutes: 0 }), '2020-01-02 03:04:05 +0000 UTC');
  assert.equal(goTimeString({ ns: 1577934245_120000000n, offsetMinutes: 60 }), '2020-01-02 04:04:05.12 +0100 CET');
  assert.equal(goTimeString({ ns: 1577934245_000000001n, offsetMinutes: -300 }), '2020-01-01 22:04:05.000000001 -0500 -0500');
});

test('the long listing adds type bits and a symlink target', () => {
  const link = makeNode({ name: Buffer.from('l'), type: 'symlink', mode: GoMode.symlink | 0o777, linkTarget: Buffer.from('target'), uid: 1000, gid: 100, mtime: { ns: 0n, offsetMinutes: 0 } });
  assert.equal(longListing('/x/l', link), 'Lrwxrwxrwx  1000   100      0 1970-01-01 01:00:00 /x/l -> target');
  const fifo = makeNode({ name: Buffer.from('f'), type: 'fifo', mode: 0o600, mtime: { ns: 0n, offsetMinutes: 0 } });
  assert.equal(longListing('/f', fifo).slice(0, 10), 'prw-------');
});

test('tables size columns by their widest line and can set multi-line rows apart', () => {
  const text = renderResticTable(['ID', 'Paths'], [['a', '/one\n/two'], ['bb', '/x']], { footer: ['2 rows'], blankBetweenRows: true });
  assert.equal(text, 'ID  Paths\n---------\na   /one\n    /two\n\nbb  /x\n---------\n2 rows\n');
});
