// Blob and file ids: 64 lowercase hex digits, checked and converted to bytes in one pass.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test from 'node:test';
import { isId, writeIdBytes } from '../../src/format/id.js';

test('an id converts to the bytes it spells, at the offset asked for', () => {
  for (let i = 0; i < 50; i++) {
    const bytes = randomBytes(32);
    const into = Buffer.alloc(40);
    assert.equal(writeIdBytes(bytes.toString('hex'), into, 5), true);
    assert.deepEqual(into.subarray(5, 37), bytes);
    assert.deepEqual(into.subarray(0, 5), Buffer.alloc(5));
  }
});

test('anything but 64 lowercase hex digits is not an id', () => {
  const id = randomBytes(32).toString('hex');
  assert.equal(isId(id), true);
  const bad = [
    '',
    id.slice(1),
    `${id}0`,
    id.toUpperCase(),
    `${id.slice(0, 63)}g`,
    `${id.slice(0, 10)} ${id.slice(11)}`,
    // Characters whose low seven bits are those of a hex digit: İ is U+0130, 0x30 is '0'.
    `${id.slice(0, 20)}\u0130${id.slice(21)}`,
    `${id.slice(0, 20)}\u00e1${id.slice(21)}`,
  ];
  for (const s of bad) {
    assert.equal(isId(s), false, JSON.stringify(s));
    assert.equal(writeIdBytes(s, Buffer.alloc(32), 0), false, JSON.stringify(s));
  }
});
