// Pack headers with all four entry types, the trailer's sanity checks, and index/config documents.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test from 'node:test';
import { decodeConfig, encodeConfig } from '../../src/format/config.js';
import { decodeIndexFile, encodeIndexFile } from '../../src/format/index-file.js';
import { checkBlobsFitHeader, decodePackHeader, encodePackHeader, MIN_PACK_SIZE, packSizeOf, type PackedBlob, parsePackTrailer } from '../../src/format/pack.js';

const id = () => randomBytes(32).toString('hex');

const blobs: PackedBlob[] = [
  { type: 'data', id: id(), offset: 0, length: 100 },
  { type: 'tree', id: id(), offset: 100, length: 50 },
  { type: 'data', id: id(), offset: 150, length: 70, uncompressedLength: 300 },
  { type: 'tree', id: id(), offset: 220, length: 40, uncompressedLength: 90 },
];

test('pack headers round-trip all four entry types with implicit offsets', () => {
  const plain = encodePackHeader(blobs);
  assert.equal(plain.length, 37 + 37 + 41 + 41);
  assert.deepEqual([plain[0], plain[37], plain[74], plain[115]], [0, 1, 2, 3]);
  assert.deepEqual(decodePackHeader(plain, 2), blobs);
  assert.equal(packSizeOf(blobs), 260 + 156 + 32 + 4);
  checkBlobsFitHeader(blobs, 260);
  assert.throws(() => checkBlobsFitHeader(blobs, 261), /header starts at 261/);
});

test('compressed entries are refused in a version 1 repository, unknown types always', () => {
  assert.throws(() => decodePackHeader(encodePackHeader(blobs), 1), /version 1/);
  const bad = encodePackHeader(blobs.slice(0, 1));
  bad[0] = 7;
  assert.throws(() => decodePackHeader(bad, 2), /invalid blob type 7/);
  assert.throws(() => decodePackHeader(encodePackHeader(blobs).subarray(0, 40), 2), /truncated entry/);
});

test('the trailer length must fit the file', () => {
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(100);
  assert.deepEqual(parsePackTrailer(tail, 1000), { headerOffset: 896, headerLength: 100 });
  tail.writeUInt32LE(0xfffffff0);
  assert.throws(() => parsePackTrailer(tail, 1000), /header length 4294967280 is invalid/);
  tail.writeUInt32LE(10);
  assert.throws(() => parsePackTrailer(tail, 1000), /header length 10 is invalid/);
  assert.throws(() => parsePackTrailer(tail, MIN_PACK_SIZE - 1), /too small/);
});

test('index files encode like Go (field order, newline) and decode both formats', () => {
  const packId = id();
  const bytes = encodeIndexFile({ supersedes: [packId], packs: [{ id: packId, blobs }] });
  const text = bytes.toString();
  assert.ok(text.endsWith(']}\n'));
  assert.ok(text.startsWith(`{"supersedes":["${packId}"],"packs":[{"id":"${packId}","blobs":[{"id":"${blobs[0]!.id}","type":"data","offset":0,"length":100}`));
  assert.match(text, /"offset":150,"length":70,"uncompressed_length":300\}/);
  const decoded = decodeIndexFile(bytes);
  assert.deepEqual(decoded.packs[0]!.blobs, blobs);
  const legacy = decodeIndexFile(Buffer.from(JSON.stringify([{ id: packId, blobs: [{ id: blobs[0]!.id, type: 'data', offset: 0, length: 100 }] }])));
  assert.equal(legacy.legacy, true);
  assert.throws(() => decodeIndexFile(Buffer.from('{"packs":[{"id":"xyz","blobs":[]}]}')), /without a valid id/);
});

test('config keeps the 54-bit polynomial exact', () => {
  const c = { version: 2 as const, id: id(), chunkerPolynomial: 0x3da3358b4dc173n };
  const text = encodeConfig(c).toString();
  assert.equal(text, `{"version":2,"id":"${c.id}","chunker_polynomial":"3da3358b4dc173"}`);
  assert.deepEqual(decodeConfig(Buffer.from(text)), c);
  assert.throws(() => decodeConfig(Buffer.from(text.replace('"version":2', '"version":3'))), /unsupported repository version 3/);
});
