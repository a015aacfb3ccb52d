// Cron next-run computations: fields, names, steps, month ends and leap days, the day-of-month /
// day-of-week rule, a seconds field, macros, intervals, and both DST changes in Europe/Berlin.

process.env.TZ = 'Europe/Berlin';

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CronSchedule } from '../../src/agent/cron.js';
import { localIso } from '../../src/agent/local-time.js';
import { EverySchedule } from '../../src/agent/schedule.js';

/** The next `count` run times after a local wall time, as local RFC 3339 strings. */
function runs(expression: string, from: string, count = 1): string[] {
  const schedule = CronSchedule.parse(expression);
  let t = new Date(from).getTime();
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const next = schedule.next(t);
    assert.ok(next !== undefined, `${expression} has no run after ${localIso(t)}`);
    out.push(localIso(next));
    t = next;
  }
  return out;
}

test('plain fields, lists, ranges and steps', () => {
  assert.deepEqual(runs('0 3 * * *', '2024-05-01T12:00:00+02:00', 2), ['2024-05-02T03:00:00+02:00', '2024-05-03T03:00:00+02:00']);
  assert.deepEqual(runs('*/20 * * * *', '2024-05-01T12:05:00+02:00', 3), ['2024-05-01T12:20:00+02:00', '2024-05-01T12:40:00+02:00', '2024-05-01T13:00:00+02:00']);
  assert.deepEqual(runs('5,35 1-2 * * *', '2024-05-01T01:35:00+02:00', 3), ['2024-05-01T02:05:00+02:00', '2024-05-01T02:35:00+02:00', '2024-05-02T01:05:00+02:00']);
  assert.deepEqual(runs('10-50/20 * * * *', '2024-05-01T12:00:00+02:00', 3), ['2024-05-01T12:10:00+02:00', '2024-05-01T12:30:00+02:00', '2024-05-01T12:50:00+02:00']);
  // `a/n` runs from a to the end of the range.
  assert.deepEqual(runs('45/5 * * * *', '2024-05-01T12:00:00+02:00', 4), ['2024-05-01T12:45:00+02:00', '2024-05-01T12:50:00+02:00', '2024-05-01T12:55:00+02:00', '2024-05-01T13:45:00+02:00']);
  // The run time itself is not "after" it: the next one is a whole period later.
  assert.deepEqual(runs('0 3 * * *', '2024-05-02T03:00:00+02:00'), ['2024-05-03T03:00:00+02:00']);
});

test('weekdays and month names, in any case; 7 is Sunday', () => {
  // 2024-05-03 is a Friday.
  assert.deepEqual(runs('*/15 9-17 * * mon-fri', '2024-05-03T17:50:00+02:00'), ['2024-05-06T09:00:00+02:00']);
  assert.deepEqual(runs('0 0 1 JAN,jul *', '2024-05-01T00:00:00+02:00', 2), ['2024-07-01T00:00:00+02:00', '2025-01-01T00:00:00+01:00']);
  assert.deepEqual(runs('0 12 * * 7', '2024-05-01T00:00:00+02:00'), ['2024-05-05T12:00:00+02:00']);
  assert.deepEqual(runs('0 12 * * 0', '2024-05-01T00:00:00+02:00'), ['2024-05-05T12:00:00+02:00']);
  assert.deepEqual(runs('0 12 * * Sun', '2024-05-01T00:00:00+02:00'), ['2024-05-05T12:00:00+02:00']);
});

test('day of month and day of week: either one when both are given, both when one starts with *', () => {
  // The 13th, or any Friday (Vixie cron's OR).
  assert.deepEqual(runs('0 0 13 * fri', '2024-09-01T00:00:00+02:00', 3), ['2024-09-06T00:00:00+02:00', '2024-09-13T00:00:00+02:00', '2024-09-20T00:00:00+02:00']);
  // Odd days that are Mondays.
  assert.deepEqual(runs('0 0 */2 * mon', '2024-09-01T00:00:00+02:00', 2), ['2024-09-09T00:00:00+02:00', '2024-09-23T00:00:00+02:00']);
});

test('month ends and leap days', () => {
  assert.deepEqual(runs('0 0 31 * *', '2024-01-31T00:00:00+01:00', 3), ['2024-03-31T00:00:00+01:00', '2024-05-31T00:00:00+02:00', '2024-07-31T00:00:00+02:00']);
  assert.deepEqual(runs('0 0 30 * *', '2024-01-30T12:00:00+01:00'), ['2024-03-30T00:00:00+01:00']);
  assert.deepEqual(runs('0 0 29 2 *', '2023-03-01T00:00:00+01:00', 2), ['2024-02-29T00:00:00+01:00', '2028-02-29T00:00:00+01:00']);
  assert.deepEqual(runs('59 23 28-31 * *', '2023-02-28T23:59:00+01:00'), ['2023-03-28T23:59:00+02:00']);
  // The last second of the year rolls over into the next one.
  assert.deepEqual(runs('59 59 23 31 12 *', '2024-06-01T00:00:00+02:00', 2), ['2024-12-31T23:59:59+01:00', '2025-12-31T23:59:59+01:00']);
});

test('a seconds field, first of six', () => {
  assert.deepEqual(runs('*/10 * * * * *', '2024-05-01T12:00:05+02:00', 3), ['2024-05-01T12:00:10+02:00', '2024-05-01T12:00:20+02:00', '2024-05-01T12:00:30+02:00']);
  assert.deepEqual(runs('* * * * * *', '2024-05-01T12:00:59+02:00'), ['2024-05-01T12:01:00+02:00']);
  assert.deepEqual(runs('30 0 3 * * *', '2024-05-01T12:00:00+02:00'), ['2024-05-02T03:00:30+02:00']);
});

test('macros', () => {
  const from = '2024-05-15T12:34:00+02:00';
  assert.deepEqual(runs('@hourly', from), ['2024-05-15T13:00:00+02:00']);
  assert.deepEqual(runs('@daily', from), ['2024-05-16T00:00:00+02:00']);
  assert.deepEqual(runs('@midnight', from), ['2024-05-16T00:00:00+02:00']);
  assert.deepEqual(runs('@weekly', from), ['2024-05-19T00:00:00+02:00']);
  assert.deepEqual(runs('@monthly', from), ['2024-06-01T00:00:00+02:00']);
  assert.deepEqual(runs('@yearly', from), ['2025-01-01T00:00:00+01:00']);
  assert.deepEqual(runs('@ANNUALLY', from), ['2025-01-01T00:00:00+01:00']);
});

test('spring forward (02:00 -> 03:00): a fixed hour runs shifted once, a * hour skips the missing times', () => {
  assert.deepEqual(runs('30 2 * * *', '2024-03-30T12:00:00+01:00', 2), ['2024-03-31T03:30:00+02:00', '2024-04-01T02:30:00+02:00']);
  assert.deepEqual(runs('0 2 * * *', '2024-03-31T00:00:00+01:00'), ['2024-03-31T03:00:00+02:00']);
  assert.deepEqual(runs('*/30 * * * *', '2024-03-31T01:15:00+01:00', 3), ['2024-03-31T01:30:00+01:00', '2024-03-31T03:00:00+02:00', '2024-03-31T03:30:00+02:00']);
  // A time shifted out of the gap does not hide an earlier ordinary one after it.
  assert.deepEqual(runs('0 2,3 * * *', '2024-03-31T00:00:00+01:00', 2), ['2024-03-31T03:00:00+02:00', '2024-04-01T02:00:00+02:00']);
  assert.deepEqual(runs('45 2 * * *', '2024-03-31T03:10:00+02:00'), ['2024-03-31T03:45:00+02:00']);
});

test('fall back (03:00 -> 02:00): a fixed hour runs once, a * hour runs in both halves', () => {
  assert.deepEqual(runs('30 2 * * *', '2024-10-27T00:00:00+02:00', 2), ['2024-10-27T02:30:00+02:00', '2024-10-28T02:30:00+01:00']);
  assert.deepEqual(runs('0 * * * *', '2024-10-27T01:30:00+02:00', 4), [
    '2024-10-27T02:00:00+02:00',
    '2024-10-27T02:00:00+01:00',
    '2024-10-27T03:00:00+01:00',
    '2024-10-27T04:00:00+01:00',
  ]);
  // Daily jobs are still a day apart in wall-clock time across the change.
  assert.deepEqual(runs('0 3 * * *', '2024-10-26T12:00:00+02:00', 2), ['2024-10-27T03:00:00+01:00', '2024-10-28T03:00:00+01:00']);
});

test('intervals count from the epoch', () => {
  const every = EverySchedule.parse('10s');
  assert.equal(every.next(Date.parse('2024-05-01T10:00:05Z')), Date.parse('2024-05-01T10:00:10Z'));
  assert.equal(every.next(Date.parse('2024-05-01T10:00:10Z')), Date.parse('2024-05-01T10:00:20Z'));
  assert.equal(EverySchedule.parse('1h30m').next(0), 90 * 60_000);
  assert.throws(() => EverySchedule.parse('500ms'), /whole number of seconds/);
  assert.throws(() => EverySchedule.parse('ten seconds'), /invalid duration/);
});

test('errors name the field and the value', () => {
  const cases: Array<[string, RegExp]> = [
    ['61 * * * *', /^minute 61 out of range/],
    ['* 24 * * *', /^hour 24 out of range/],
    ['0 0 0 * *', /^day of month 0 out of range/],
    ['0 0 * 13 *', /^month 13 out of range/],
    ['0 0 * * 8', /^day of week 8 out of range/],
    ['0 0 * * funday', /^day of week "funday" is not a number or a name/],
    ['*/0 * * * *', /step "0" must be/],
    ['30-10 * * * *', /range "30-10" goes backwards/],
    ['* * * *', /expected 5 fields/],
    ['60 * * * * *', /^second 60 out of range/],
    ['0 0 30 2 *', /never occurs/],
    ['0 0 31 4,6 *', /never occurs/],
    ['@reboot', /unknown macro/],
    ['@every 10s', /every: 10m/],
    ['1,,2 * * * *', /is not a value/],
  ];
  for (const [expression, message] of cases) assert.throws(() => CronSchedule.parse(expression), { message }, expression);
  // With a weekday given, the 30th of February is not needed: any Monday in February runs.
  assert.deepEqual(runs('0 0 30 2 mon', '2025-01-01T00:00:00+01:00'), ['2025-02-03T00:00:00+01:00']);
});
