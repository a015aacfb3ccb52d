// The time forms find's --oldest/--newest accept: restic's layouts, read in the local zone unless
// they carry an offset or a zone name, with Go's handling of the hour a DST change skips.

import assert from 'node:assert/strict';
import test from 'node:test';
import { parseFindTime } from '../../src/browse/find-time.js';
import { formatGoTime } from '../../src/format/go-json.js';

process.env.TZ = 'Europe/Berlin';

const text = (s: string) => formatGoTime(parseFindTime(s));

test('restic\'s layouts parse in the local zone, with offsets and zone names', () => {
  assert.equal(text('2021-03-04'), '2021-03-04T00:00:00+01:00');
  assert.equal(text('2021-07-04 5:06'), '2021-07-04T05:06:00+02:00');
  assert.equal(text('2021-07-04 15:06:07'), '2021-07-04T15:06:07+02:00');
  assert.equal(text('2021-07-04 15:06:07 -0500'), '2021-07-04T15:06:07-05:00');
  assert.equal(text('2021-07-04 15:06:07 UTC'), '2021-07-04T15:06:07Z');
  assert.equal(text('04.07.2021'), '2021-07-04T00:00:00+02:00');
  assert.equal(text('04.07.2021 15:06'), '2021-07-04T15:06:00+02:00');
  assert.equal(text('04.07.2021 15:06:07 +0130'), '2021-07-04T15:06:07+01:30');
  assert.equal(text('Sun Jul 4 15:06:07 -0500 EST 2021'), '2021-07-04T15:06:07-05:00');
  assert.equal(text('2021-07-04 15:06:07 XYZ'), '2021-07-04T15:06:07Z', 'an unknown zone name has offset 0, as in Go');
});

test('a local time that the DST change skips lands where Go puts it', () => {
  // 02:30 does not exist on 2021-03-28 in Berlin; Go takes the offset before the change.
  assert.equal(text('2021-03-28 02:30'), '2021-03-28T03:30:00+02:00');
});

test('other forms and impossible dates are refused', () => {
  for (const bad of ['yesterday', '2021-13-01', '2021-02-30', '2021-01-01 24:00', '2021/01/01', '1.1.2021']) {
    assert.throws(() => parseFindTime(bad), /unable to parse time/, bad);
  }
});

test('a zone name the local zone uses takes the local offset', () => {
  assert.equal(text('2021-07-04 15:06:07 CEST'), '2021-07-04T15:06:07+02:00');
  assert.equal(text('04.01.2021 15:06:07 CET'), '2021-01-04T15:06:07+01:00');
});
