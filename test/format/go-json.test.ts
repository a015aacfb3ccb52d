// Go encoding/json string and time.Time text: the escapes Go 1.19 writes (restic 0.14's Go), byte
// strings with invalid UTF-8, RFC 3339 parsing and formatting, and restic's year clamp.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  clampGoTimeYear,
  formatGoTime,
  goJsonBytes,
  goJsonString,
  parseGoTime,
  zeroGoTime,
} from '../../src/format/go-json.js';

test('goJsonString writes what Go 1.19 writes', () => {
  const cases: Array<[string, string]> = [
    ['plain', '"plain"'],
    ['<&>', '"\\u003c\\u0026\\u003e"'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['\n\r\t', '"\\n\\r\\t"'],
    // Go < 1.22 has no \b and \f short forms.
    ['\b\f', '"\\u0008\\u000c"'],
    // A backslash followed by b or f is not a control character.
    ['\\b\\f', '"\\\\b\\\\f"'],
    ['\u0000\u001f\u007f', '"\\u0000\\u001f\u007f"'],
    ['\u2028\u2029', '"\\u2028\\u2029"'],
    ['é😀\ufffd', '"é😀\ufffd"'],
    ['lone \ud800 surrogate', '"lone \ufffd surrogate"'],
  ];
  for (const [input, json] of cases) assert.equal(goJsonString(input), json, JSON.stringify(input));
});

test('goJsonBytes writes each invalid byte as \\ufffd and valid U+FFFD raw', () => {
  assert.equal(goJsonBytes(Buffer.from('tgt\xff', 'latin1')), '"tgt\\ufffd"');
  assert.equal(goJsonBytes(Buffer.from([0x61, 0xe2, 0x82, 0x3c, 0xef, 0xbf, 0xbd])), '"a\\ufffd\\ufffd\\u003c\ufffd"');
  assert.equal(goJsonBytes(Buffer.from('ok <', 'utf8')), '"ok \\u003c"');
  assert.equal(goJsonBytes(Buffer.from([0xff])), '"\\ufffd"');
});

test('RFC 3339 times round trip with nanoseconds and offsets', () => {
  const texts = [
    '2020-01-02T03:04:05.123456789Z',
    '2020-01-02T03:04:05.1Z',
    '2020-01-02T03:04:05Z',
    '2026-11-26T01:24:33.7475345+01:00',
    '1969-12-31T23:59:59.999999999-09:30',
    '0001-01-01T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999999+14:00',
    '2024-02-29T12:00:00Z',
  ];
  for (const text of texts) assert.equal(formatGoTime(parseGoTime(text)), text);
});

test('parsed times are the right instants', () => {
  assert.deepEqual(parseGoTime('1970-01-01T00:00:00Z'), { ns: 0n, offsetMinutes: 0 });
  assert.deepEqual(parseGoTime('1970-01-01T01:00:00.5+01:00'), { ns: 500_000_000n, offsetMinutes: 60 });
  assert.deepEqual(parseGoTime('0001-01-01T00:00:00Z'), zeroGoTime);
  assert.equal(formatGoTime(zeroGoTime), '0001-01-01T00:00:00Z');
  assert.equal(parseGoTime('2020-01-02T03:04:05.123456789Z').ns, BigInt(Date.UTC(2020, 0, 2, 3, 4, 5)) * 1_000_000n + 123_456_789n);
  // Go truncates a fraction beyond nanoseconds.
  assert.equal(formatGoTime(parseGoTime('2020-01-02T03:04:05.1234567899Z')), '2020-01-02T03:04:05.123456789Z');
});

test('parseGoTime rejects malformed and out-of-range times', () => {
  const bad = [
    '',
    '2020-01-02',
    '2020-01-02 03:04:05Z',
    '2020-13-02T03:04:05Z',
    '2021-02-29T03:04:05Z',
    '2020-01-32T03:04:05Z',
    '2020-01-02T24:00:00Z',
    '2020-01-02T03:60:05Z',
    '2020-01-02T03:04:60Z',
    '2020-01-02T03:04:05',
    '2020-01-02T03:04:05.Z',
    '2020-01-02T03:04:05+0100',
    '2020-01-02T03:04:05+24:00',
    '2020-01-02T03:04:05Zjunk',
  ];
  for (const text of bad) assert.throws(() => parseGoTime(text), SyntaxError, text);
});

test('clampGoTimeYear does what restic FixTime does', () => {
  const clamp = (text: string): string => formatGoTime(clampGoTimeYear(parseGoTimeUnchecked(text)));
  assert.equal(clamp('2020-05-06T07:08:09.5Z'), '2020-05-06T07:08:09.5Z');
  assert.equal(clamp('-0005-05-06T07:08:09.5Z'), '0000-05-06T07:08:09.5Z');
  assert.equal(clamp('12000-05-06T07:08:09Z'), '9999-05-06T07:08:09Z');
  // Feb 29 of a leap year past 9999 rolls over in 9999, a common year.
  assert.equal(clamp('10000-02-29T00:00:00Z'), '9999-03-01T00:00:00Z');
  assert.throws(() => formatGoTime(parseGoTimeUnchecked('10000-01-01T00:00:00Z')), RangeError);
});

/** Times beyond RFC 3339's four-digit years, built from their civil fields (UTC). */
function parseGoTimeUnchecked(text: string): { ns: bigint; offsetMinutes: number } {
  const m = /^(-?\d+)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z$/.exec(text)!;
  const date = new Date(0);
  date.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  date.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
  const nanos = m[7] ? BigInt(m[7].padEnd(9, '0')) : 0n;
  return { ns: BigInt(date.getTime()) * 1_000_000n + nanos, offsetMinutes: 0 };
}
