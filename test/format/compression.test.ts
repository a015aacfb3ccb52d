// zstd through libzstd and through the wasm fallback: a frame written in pieces reads back with
// either, because it records its size, as the one-shot frames do.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test from 'node:test';
import { compressUnpacked, compressUnpackedText, decompressUnpacked, loadNativeZstd, loadWasmZstd, type Zstd } from '../../src/format/compression.js';

const native = loadNativeZstd();
const wasm = await loadWasmZstd();

/** JSON-like text in pieces of uneven sizes, several times the native output buffer. */
function textPieces(): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < 40; i++) {
    const blobs = Array.from({ length: 50 + i * 37 }, () => `{"id":"${randomBytes(32).toString('hex')}","type":"data","offset":${i},"length":${i * 3}}`);
    pieces.push(blobs.join(','));
  }
  pieces.push('', 'ünïcödé'.repeat(1000), randomBytes(300_000).toString('base64'));
  return pieces;
}

test('a frame compressed in pieces decompresses to the pieces joined, with libzstd and with wasm', () => {
  const pieces = textPieces().map((p) => Buffer.from(p));
  const joined = Buffer.concat(pieces);
  for (const writer of [native, wasm] as Zstd[]) {
    const frame = writer.compressPieces(pieces, joined.length, 3);
    assert.ok(frame.length < joined.length, `${writer.kind} compresses`);
    for (const reader of [native, wasm] as Zstd[]) assert.deepEqual(reader.decompress(frame), joined, `${writer.kind} -> ${reader.kind}`);
  }
});

test('a compressed index in pieces is the version byte and one frame; a wrong length is refused', () => {
  const pieces = textPieces();
  const joined = Buffer.from(pieces.join(''));
  for (const [writer, reader] of [[native, wasm], [wasm, native]] as Zstd[][]) {
    const plain = compressUnpackedText(writer!, () => pieces, 2, 3);
    assert.equal(plain[0], 0x02);
    assert.deepEqual(decompressUnpacked(reader!, plain), joined, `${writer!.kind} -> ${reader!.kind}`);
  }
  assert.deepEqual(compressUnpackedText(native, () => pieces, 1, 3), compressUnpacked(native, joined, 1, 3), 'version 1 stores the JSON as it is');
  assert.throws(() => native.compressPieces([joined], joined.length - 1, 3));
  // The context is usable after the failure, by either interface.
  assert.deepEqual(native.decompress(native.compress(joined, 3)), joined);
  assert.throws(() => native.compressPieces([joined], joined.length + 1, 3));
  assert.deepEqual(native.decompress(native.compressPieces([joined], joined.length, 3)), joined);
});
