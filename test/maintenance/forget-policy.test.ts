// The retention policy without restic: durations, descriptions, bucket rules, -1 for "all", the
// future and the Go calendar it rests on (ISO weeks, AddDate overflow and DST).

import assert from 'node:assert/strict';
import test from 'node:test';
import { addDate, isoWeek, wallClock } from '../../src/format/go-calendar.js';
import { formatGoTime, parseGoTime } from '../../src/format/go-json.js';
import {
  applyPolicy,
  checkPolicy,
  describePolicy,
  emptyPolicy,
  type ExpirePolicy,
  formatRetentionDuration,
  parseRetentionDuration,
} from '../../src/maintenance/forget-policy.js';
import type { SnapshotEntry } from '../../src/repository/snapshots.js';

const tree = 'a'.repeat(64);

function entry(time: string, tags?: string[]): SnapshotEntry {
  const id = Buffer.from(time).toString('hex').padEnd(64, '0').slice(0, 64);
  return { id, snapshot: { time: parseGoTime(time), tree, paths: ['/p'], ...(tags ? { tags } : {}) } };
}

const policy = (p: Partial<ExpirePolicy>): ExpirePolicy => ({ ...emptyPolicy, ...p });
const times = (list: SnapshotEntry[]) => list.map((e) => formatGoTime(e.snapshot.time));

test('durations parse as restic parses them and print back', () => {
  assert.deepEqual(parseRetentionDuration('1y2m3d4h'), { years: 1, months: 2, days: 3, hours: 4 });
  assert.deepEqual(parseRetentionDuration(' 4h3d '), { years: 0, months: 0, days: 3, hours: 4 });
  assert.deepEqual(parseRetentionDuration('2d5d'), { years: 0, months: 0, days: 5, hours: 0 }, 'a repeated unit wins');
  assert.deepEqual(parseRetentionDuration(''), { years: 0, months: 0, days: 0, hours: 0 });
  assert.equal(formatRetentionDuration(parseRetentionDuration('0y3m')), '3m');
  assert.throws(() => parseRetentionDuration('5'), /no unit found after number 5/);
  assert.throws(() => parseRetentionDuration('5w'), /invalid unit 'w'/);
  assert.throws(() => parseRetentionDuration('d'), /no number found/);
});

test('policies are described as restic describes them; nonsense is refused', () => {
  assert.equal(describePolicy(policy({ last: 3, daily: 7 })), 'keep 3 latest, 7 daily snapshots');
  assert.equal(
    describePolicy(policy({ weekly: 2, withinDaily: parseRetentionDuration('10d'), tags: [['a', 'b'], ['c']], within: parseRetentionDuration('1y') })),
    'keep 2 weekly snapshots, daily snapshots within 10d and all snapshots with tags [[a, b] [c]] and all snapshots within 1y of the newest',
  );
  assert.throws(() => checkPolicy(policy({ daily: -2 })), /not a count/);
  assert.throws(() => checkPolicy(policy({ within: parseRetentionDuration('-1d') })), /negative/);
  checkPolicy(policy({ daily: -1 }));
});

test('an empty policy keeps everything, with restic\'s reason', () => {
  const list = [entry('2021-01-01T00:00:00Z'), entry('2021-01-02T00:00:00Z')];
  const r = applyPolicy(list, emptyPolicy);
  assert.equal(r.keep.length, 2);
  assert.deepEqual(r.reasons.map((x) => x.matches), [['policy is empty'], ['policy is empty']]);
});

test('buckets use the wall clock of each snapshot\'s own offset, newest first', () => {
  const list = [
    entry('2021-01-02T10:00:00Z'),
    entry('2021-01-02T01:30:00+02:00'), // 2021-01-01 23:30 UTC, but January 2 on its own clock
    entry('2021-01-01T22:00:00Z'),
  ];
  const r = applyPolicy(list, policy({ daily: 5 }));
  assert.deepEqual(times(r.keep), ['2021-01-02T10:00:00Z', '2021-01-01T22:00:00Z']);
  assert.deepEqual(times(r.remove), ['2021-01-02T01:30:00+02:00']);
  assert.deepEqual(r.reasons.map((x) => [x.matches, x.counters]), [
    [['daily snapshot'], { daily: 4 }],
    [['daily snapshot'], { daily: 3 }],
  ]);
});

test('-1 keeps one snapshot per bucket without limit; tags and within keep regardless of buckets', () => {
  const list = [...Array(40).keys()].map((d) => entry(`2021-02-${String((d % 28) + 1).padStart(2, '0')}T0${d < 28 ? 1 : 2}:00:00Z`, d === 3 ? ['keep'] : undefined));
  const all = applyPolicy(list, policy({ daily: -1 }));
  assert.equal(all.keep.length, 28);
  assert.deepEqual(all.reasons[0]!.counters, { daily: -1 });
  const tagged = applyPolicy(list, policy({ last: 1, tags: [['keep']] }));
  assert.deepEqual(tagged.reasons.map((x) => x.matches), [['last snapshot'], ['has tags [keep]']]);
  const within = applyPolicy(list, policy({ within: parseRetentionDuration('2d') }), new Date('2030-01-01'));
  // Two days back from the newest is exactly 02-26 01:00, which is not "after" it.
  assert.deepEqual(times(within.keep), ['2021-02-28T01:00:00Z', '2021-02-27T01:00:00Z']);
});

test('"within" counts back from the newest snapshot that is not in the future', () => {
  const list = [entry('2021-05-01T00:00:00Z'), entry('2021-05-03T00:00:00Z'), entry('2999-01-01T00:00:00Z')];
  const r = applyPolicy(list, policy({ within: parseRetentionDuration('1d') }), new Date('2022-01-01'));
  assert.deepEqual(times(r.keep), ['2999-01-01T00:00:00Z', '2021-05-03T00:00:00Z']);
});

test('the Go calendar: ISO weeks, AddDate overflow, DST in the local zone only', () => {
  assert.deepEqual(isoWeek(wallClock(parseGoTime('2021-01-03T12:00:00Z'))), [2020, 53]);
  assert.deepEqual(isoWeek(wallClock(parseGoTime('2024-12-30T12:00:00Z'))), [2025, 1]);
  assert.equal(formatGoTime(addDate(parseGoTime('2021-03-31T10:00:00Z'), 0, -1, 0)), '2021-03-03T10:00:00Z');
  assert.equal(formatGoTime(addDate(parseGoTime('2020-02-29T10:00:00Z'), -1, 0, 0)), '2019-03-01T10:00:00Z');
  const prev = process.env.TZ;
  process.env.TZ = 'Europe/Berlin';
  try {
    assert.equal(formatGoTime(addDate(parseGoTime('2021-03-29T12:00:00+02:00'), 0, 0, -2)), '2021-03-27T12:00:00+01:00');
    assert.equal(formatGoTime(addDate(parseGoTime('2021-03-29T12:00:00+05:00'), 0, 0, -2)), '2021-03-27T12:00:00+05:00');
  } finally {
    process.env.TZ = prev;
  }
});
