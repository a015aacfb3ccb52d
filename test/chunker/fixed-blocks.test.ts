// Tests of the fixed-size block splitter used for disk images: block boundaries independent of
// how the source is split, the short last block, buffer ownership and argument checks.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixedBlocks } from '../../src/chunker/index.js';
import { HoldfastError } from '../../src/errors.js';
import { pseudoRandom } from './inputs.js';

async function collect(source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, blockSize: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const block of fixedBlocks(source, blockSize)) out.push(block);
  return out;
}

function split(data: Buffer, sizes: number[]): Buffer[] {
  const parts: Buffer[] = [];
  let offset = 0;
  for (const size of sizes) {
    parts.push(data.subarray(offset, offset + size));
    offset += size;
  }
  parts.push(data.subarray(offset));
  return parts;
}

test('an empty source gives no blocks', async () => {
  assert.deepEqual(await collect([], 4096), []);
  assert.deepEqual(await collect([new Uint8Array(0), new Uint8Array(0)], 4096), []);
});

test('an exact multiple gives only full blocks', async () => {
  const data = pseudoRandom(3 * 4096, 'exact');
  const blocks = await collect([data], 4096);
  assert.deepEqual(blocks.map((b) => b.length), [4096, 4096, 4096]);
  assert.ok(Buffer.concat(blocks).equals(data));
});

test('the remainder is a short last block', async () => {
  const data = pseudoRandom(2 * 4096 + 1, 'short');
  const blocks = await collect([data], 4096);
  assert.deepEqual(blocks.map((b) => b.length), [4096, 4096, 1]);
  assert.ok(Buffer.concat(blocks).equals(data));
  assert.deepEqual((await collect([data.subarray(0, 100)], 4096)).map((b) => b.length), [100]);
});

test('block boundaries do not depend on how the source is split', async () => {
  const data = pseudoRandom(10 * 1000 + 7, 'split');
  const splits = [
    [1, 1, 1, 997, 1000, 1, 0, 5000],
    [999, 2, 998],
    [10007],
    Array(500).fill(13),
  ];
  for (const sizes of splits) {
    const blocks = await collect(split(data, sizes), 1000);
    assert.deepEqual(blocks.map((b) => b.length), [...Array(10).fill(1000), 7], `split ${sizes.slice(0, 4).join(',')}…`);
    assert.ok(Buffer.concat(blocks).equals(data));
  }
});

test('a block size of 1 and an async source work', async () => {
  async function* source(): AsyncGenerator<Uint8Array> {
    yield Uint8Array.of(1, 2);
    yield Uint8Array.of(3);
  }
  assert.deepEqual((await collect(source(), 1)).map((b) => [...b]), [[1], [2], [3]]);
});

test('blocks own their bytes even when the source reuses its buffer', async () => {
  const reused = Buffer.alloc(6);
  async function* source(): AsyncGenerator<Uint8Array> {
    for (const v of [1, 2, 3]) {
      reused.fill(v);
      yield reused;
    }
  }
  const seen: Buffer[] = [];
  for await (const block of fixedBlocks(source(), 4)) seen.push(block);
  assert.deepEqual(seen.map((b) => [...b]), [[1, 1, 1, 1], [1, 1, 2, 2], [2, 2, 2, 2], [3, 3, 3, 3], [3, 3]]);
});

test('an invalid block size is refused', async () => {
  for (const size of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    await assert.rejects(collect([Buffer.alloc(1)], size), (err: unknown) => err instanceof HoldfastError && err.code === 'ERR_INVALID_ARGUMENT');
  }
});
