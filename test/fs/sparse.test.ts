// Sparse writes: zero blocks become holes, data lands where it belongs (also across block edges
// and out of order), and the final size is set even when the file ends in zeros.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isSparse, SparseWriter } from '../../src/fs/sparse.js';
import { tempDir } from '../helpers/tmp.js';

test('zero blocks are skipped, the rest is written in place', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'image');
  const size = 8 << 20;
  const expected = Buffer.alloc(size);
  const pieces: Array<[position: number, data: Buffer]> = [];
  // Data, a long zero run, data straddling a block edge, zeros up to the end.
  const head = randomBytes(10_000);
  const middle = randomBytes(5000);
  pieces.push([0, Buffer.concat([head, Buffer.alloc(3 << 20)])]);
  pieces.push([4 * 4096 * 256 + 1000, middle]);
  pieces.push([6 << 20, Buffer.alloc(1 << 20)]);
  for (const [position, data] of pieces) data.copy(expected, position);

  const handle = await open(path, 'w');
  const writer = new SparseWriter(handle);
  // Out of order, as a restore may write blobs.
  for (const [position, data] of [...pieces].reverse()) await writer.write(data, position);
  await writer.finish(size);
  await handle.close();

  assert.deepEqual(await readFile(path), expected);
  const st = await stat(path);
  assert.equal(st.size, size);
  assert.ok(isSparse(st), `${st.blocks * 512} bytes allocated for ${size}`);
  // Only the blocks holding data: the 10_000 bytes of head (3 whole blocks, the third one ending
  // in zeros) and the 5000 bytes of middle, which start inside a block.
  assert.equal(writer.bytesWritten, 3 * 4096 + 5000);
  assert.ok(st.blocks * 512 <= 16 * 4096, `${st.blocks * 512} bytes allocated`);
});

test('a file without zero blocks is written whole and is not sparse', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'dense');
  const data = randomBytes(100_000);
  const handle = await open(path, 'w');
  const writer = new SparseWriter(handle, 512);
  await writer.write(data.subarray(0, 777), 0);
  await writer.write(new Uint8Array(data.subarray(777)), 777);
  await writer.finish(data.length);
  await handle.close();
  assert.deepEqual(await readFile(path), data);
  assert.equal(writer.bytesWritten, data.length);
  assert.equal(isSparse(await stat(path)), false);
  assert.throws(() => new SparseWriter(handle, 0), RangeError);
});
