// The pull JSON reader: exact uint64s, Go's string decoding, raw capture of unknown values, and
// syntax errors reported as corrupt data.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HoldfastError } from '../../src/errors.js';
import { JsonReader } from '../../src/format/json-reader.js';

const isCorrupt = (err: unknown): boolean => err instanceof HoldfastError && err.code === 'ERR_CORRUPT';

test('uint64 values are exact over the whole range', () => {
  for (const text of ['0', '9007199254740993', '18446744073709551615', ' 42 ']) {
    const r = new JsonReader(text, 'test');
    assert.equal(r.readUint64(), BigInt(text.trim()));
    r.end();
  }
  for (const text of ['18446744073709551616', '-1', '1.5', '1e3', '"1"', '']) {
    assert.throws(() => new JsonReader(text, 'test').readUint64(), isCorrupt, text);
  }
});

test('readUint enforces its maximum', () => {
  assert.equal(new JsonReader('4294967295', 'test').readUint(0xffff_ffff), 0xffff_ffff);
  assert.throws(() => new JsonReader('4294967296', 'test').readUint(0xffff_ffff), isCorrupt);
  assert.throws(() => new JsonReader('123456789012345678901', 'test').readUint(Number.MAX_SAFE_INTEGER), isCorrupt);
});

test('strings decode every JSON escape', () => {
  const r = new JsonReader('"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00 x"', 'test');
  assert.equal(r.readString(), 'a"b\\c/d\b\f\n\r\t\u00e9\u{1f600} x');
  // A lone surrogate escape stays a lone UTF-16 unit; as UTF-8 it is U+FFFD, as in Go.
  const lone = new JsonReader('"\\ud800"', 'test').readString();
  assert.deepEqual(Buffer.from(lone, 'utf8'), Buffer.from('\ufffd', 'utf8'));
  for (const bad of ['"raw\ncontrol"', '"unterminated', '"bad \\x escape"', '"\\u12"']) {
    assert.throws(() => new JsonReader(bad, 'test').readString(), isCorrupt, bad);
  }
});

test('invalid UTF-8 input becomes U+FFFD', () => {
  const r = JsonReader.fromBytes(Buffer.from([0x22, 0x61, 0xff, 0x22]), 'test');
  assert.equal(r.readString(), 'a\ufffd');
});

test('objects and arrays walk members, skip and capture values', () => {
  const text = ' { "a" : [1, {"x": null}, "s"], "b":{"c":[true,false]} , "d": -1.5e3 , "e":"\\u003c"} ';
  const r = new JsonReader(text, 'test');
  const seen: Array<[string, string]> = [];
  r.beginObject();
  for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) seen.push([key, r.rawValue()]);
  r.end();
  assert.deepEqual(seen, [
    ['a', '[1, {"x": null}, "s"]'],
    ['b', '{"c":[true,false]}'],
    ['d', '-1.5e3'],
    ['e', '"\\u003c"'],
  ]);

  const items = new JsonReader('[null, 1 ,2]', 'test');
  const values: Array<number | null> = [];
  items.beginArray();
  while (items.nextItem()) values.push(items.readNull() ? null : items.readNumber());
  assert.deepEqual(values, [null, 1, 2]);
});

test('syntax errors are corrupt-data errors', () => {
  const walk = (text: string): void => {
    const r = new JsonReader(text, 'test');
    r.skipValue();
    r.end();
  };
  for (const bad of ['{"a":1,}', '{,"a":1}', '[1,]', '[,1]', '{"a" 1}', '{"a":1 "b":2}', '[1 2]', 'nul', 'tru', '{} x', '{']) {
    assert.throws(() => walk(bad), isCorrupt, bad);
  }
  for (const good of ['{}', '[]', '{"a":[]}', '[{}]', 'null', '"x"', '0']) walk(good);
});
