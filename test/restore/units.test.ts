// Unit tests of the restore's small parts: hole detection, nanosecond times through Node's
// utimes, restic's include/exclude decisions, SNAPSHOT:SUBPATH, CRC-32, the byte budget.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test from 'node:test';
import { ByteBudget } from '../../src/restore/byte-budget.js';
import { crc32, crc32Fallback } from '../../src/restore/crc32.js';
import { approximateSeconds, exactSeconds } from '../../src/restore/node-times.js';
import { RestoreSelection } from '../../src/restore/selection.js';
import { pathComponents, splitSnapshotSpec } from '../../src/restore/snapshot-path.js';
import { nonZeroRuns } from '../../src/restore/zero-blocks.js';

test('nonZeroRuns skips whole zero blocks aligned to file offsets, and nothing else', () => {
  const data = Buffer.alloc(4 * 4096);
  data[5000] = 1;
  data[3 * 4096 + 10] = 2;
  assert.deepEqual(nonZeroRuns(data, 0), [
    [4096, 8192],
    [3 * 4096, 4 * 4096],
  ]);
  // Written at file offset 100, block boundaries fall at 3996, 8092, ...: the zero tail
  // (file offsets 16384 to 16484) is a block of its own and is left out too.
  assert.deepEqual(nonZeroRuns(data, 100), [
    [3996, 8092],
    [12188, 16284],
  ]);
  assert.deepEqual(nonZeroRuns(Buffer.alloc(10_000), 0), []);
  const random = randomBytes(9000);
  assert.deepEqual(nonZeroRuns(random, 7), [[0, 9000]]);
});

test('exactSeconds gives doubles that libuv turns back into the same microsecond time, or nothing', () => {
  assert.equal(exactSeconds(1_700_000_000_000_000_000n), 1_700_000_000);
  const s = exactSeconds(1_700_000_000_123_456_000n)!;
  assert.ok(s !== undefined);
  // What libuv does with it: truncate to seconds, nanoseconds cut to microseconds.
  const sec = Math.trunc(s);
  let nsec = Math.trunc((s - sec) * 1e9);
  nsec -= nsec % 1000;
  assert.deepEqual([sec, nsec], [1_700_000_000, 123_456_000]);
  assert.equal(exactSeconds(1_700_000_000_123_456_789n), undefined, 'nanoseconds need utimensat');
  assert.equal(exactSeconds(-5n), undefined, 'Node turns negative times into now');
  assert.equal(approximateSeconds(-5n), 0);
  assert.ok(Math.abs(approximateSeconds(1_700_000_000_123_456_789n) - 1_700_000_000.123_456_789) < 1e-6);
});

test('excludes: restic filter.List against the path inside the snapshot; an excluded directory is not entered', () => {
  const sel = new RestoreSelection({ exclude: ['*.bin', '/home/user/cache', 'deep/**/x'] });
  assert.deepEqual(sel.select(['home', 'user', 'a.bin'], false), { selected: false, descend: false });
  assert.deepEqual(sel.select(['home', 'user', 'a.txt'], false), { selected: true, descend: false });
  assert.deepEqual(sel.select(['home', 'user', 'cache'], true), { selected: false, descend: false });
  assert.deepEqual(sel.select(['home', 'user', 'cache', 'inner'], false), { selected: false, descend: false });
  assert.deepEqual(sel.select(['home'], true), { selected: true, descend: true });
  assert.equal(sel.select(['deep', 'a', 'b', 'x'], false).selected, false);
  assert.equal(sel.select(['deep', 'x'], false).selected, false);
  assert.equal(sel.select(['other', 'x'], false).selected, true);
});

test('includes: a match takes everything below it, and directories on the way are walked', () => {
  const sel = new RestoreSelection({ include: ['/home/user/docs', '*.conf'] });
  // On the way to an anchored match: not restored itself, but walked into.
  assert.deepEqual(sel.select(['home'], true), { selected: false, descend: true });
  assert.deepEqual(sel.select(['home', 'user'], true), { selected: false, descend: true });
  assert.deepEqual(sel.select(['home', 'other'], true), { selected: false, descend: true }, 'an unanchored pattern may match anywhere below');
  assert.deepEqual(sel.select(['home', 'user', 'docs'], true), { selected: true, descend: true });
  assert.deepEqual(sel.select(['home', 'user', 'docs', 'deep', 'file'], false), { selected: true, descend: false });
  assert.equal(sel.select(['etc', 'x.conf'], false).selected, true);
  assert.equal(sel.select(['etc', 'x.txt'], false).selected, false);
  const anchored = new RestoreSelection({ include: ['/home/user/docs'] });
  assert.deepEqual(anchored.select(['etc'], true), { selected: false, descend: false }, 'an anchored pattern rules out other branches');
  const negated = new RestoreSelection({ include: ['/data', '!/data/tmp'] });
  assert.equal(negated.select(['data', 'keep'], false).selected, true);
  assert.deepEqual(negated.select(['data', 'tmp'], true), { selected: false, descend: false });
});

test('case-insensitive patterns, and what restic refuses', () => {
  const sel = new RestoreSelection({ iinclude: ['*.JPG'] });
  assert.equal(sel.select(['Photos', 'a.jpg'], false).selected, true);
  assert.equal(new RestoreSelection({ iexclude: ['TEMP'] }).select(['x', 'temp'], true).selected, false);
  assert.throws(() => new RestoreSelection({ include: ['a'], exclude: ['b'] }), /mutually exclusive/);
  assert.throws(() => new RestoreSelection({ exclude: ['[a-'] }), /invalid pattern/);
  assert.equal(new RestoreSelection().filtered, false);
});

test('SNAPSHOT:SUBPATH and paths inside a snapshot', () => {
  assert.deepEqual(splitSnapshotSpec('latest'), { snapshot: 'latest', subpath: '/' });
  assert.deepEqual(splitSnapshotSpec('1a2b:/home/user'), { snapshot: '1a2b', subpath: '/home/user' });
  assert.deepEqual(splitSnapshotSpec('latest:'), { snapshot: 'latest', subpath: '/' });
  assert.deepEqual(pathComponents('/a//b/./c/').map(String), ['a', 'b', 'c']);
  assert.throws(() => pathComponents('/a/../b'), /cannot contain/);
});

test('CRC-32: the fallback gives what zlib gives, also when continued', () => {
  const data = randomBytes(100_000);
  assert.equal(crc32Fallback(Buffer.from('123456789'), 0), 0xcbf43926);
  assert.equal(crc32Fallback(data, 0), crc32(data));
  assert.equal(crc32Fallback(data.subarray(50_000), crc32Fallback(data.subarray(0, 50_000), 0)), crc32(data));
});

test('the byte budget lets requests through in order once they fit, and a too large one when alone', async () => {
  const budget = new ByteBudget(100);
  await budget.acquire(60);
  const order: string[] = [];
  const big = budget.acquire(500).then(() => order.push('big'));
  const small = budget.acquire(10).then(() => order.push('small'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [], 'waiters keep their order: the small one waits behind the big one');
  budget.release(60);
  await big;
  assert.deepEqual(order, ['big']);
  budget.release(500);
  await small;
  assert.deepEqual(order, ['big', 'small']);
});
