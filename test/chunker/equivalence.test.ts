// Randomized agreement: the wasm and TypeScript kernels, every entry point and every way of
// splitting the input must give the same cuts, for random data and random polynomials.
// Set HOLDFAST_TEST_SEED to replay a failure; the seed is printed as a diagnostic.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Chunker, chunkFile, chunkStream, FileChunker, MAX_SIZE, MIN_SIZE, randomPolynomial, type KernelKind } from '../../src/chunker/index.js';
import { tempDir } from '../helpers/tmp.js';
import { modelChunks, pseudoRandom, sha256 } from './inputs.js';

const seed = process.env.HOLDFAST_TEST_SEED ?? randomBytes(8).toString('hex');

/** mulberry32, seeded from the test seed and a label: reproducible sizes. */
function rng(label: string): (below: number) => number {
  let s = Number.parseInt(sha256(Buffer.from(seed + label)).slice(0, 8), 16);
  return (below) => {
    s = (s + 0x6d2b79f5) | 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return Math.floor((((x ^ (x >>> 14)) >>> 0) / 2 ** 32) * below);
  };
}

/** Random data with the regions that take the unusual paths: zero runs and MaxSize runs. */
function testData(): Buffer {
  const parts = [
    pseudoRandom(9 * 1024 * 1024 + 17, seed + 'a'),
    Buffer.alloc(2 * MIN_SIZE + 3),
    pseudoRandom(5 * 1024 * 1024, seed + 'b'),
    Buffer.alloc(MAX_SIZE + MIN_SIZE, 0x5c),
    // Low entropy: a short alphabet, as in text.
    pseudoRandom(6 * 1024 * 1024, seed + 'c').map((b) => 97 + (b & 7)),
    pseudoRandom(3 * 1024 * 1024 + 1, seed + 'd'),
  ];
  return Buffer.concat(parts);
}

/** Feed sizes mixing single bytes, odd small sizes and multi-megabyte pieces. */
function splitSizes(total: number, next: (below: number) => number): number[] {
  const sizes: number[] = [];
  for (let left = total; left > 0; ) {
    const kind = next(4);
    const size = Math.min(left, kind === 0 ? 1 + next(3) : kind === 1 ? 1 + next(4096) : 1 + next(3 * 1024 * 1024));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

function* pieces(data: Buffer, sizes: number[]): Generator<Buffer> {
  let offset = 0;
  for (const size of sizes) {
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

interface AbsoluteCut {
  end: number;
  digest: bigint;
}

function cutsOf(data: Buffer, pol: bigint, kernel: KernelKind, sizes: number[] | undefined): AbsoluteCut[] {
  const chunker = new Chunker(pol, { kernel });
  if (sizes === undefined) return chunker.feed(data).map(({ end, digest }) => ({ end, digest }));
  const cuts: AbsoluteCut[] = [];
  let offset = 0;
  for (const piece of pieces(data, sizes)) {
    for (const cut of chunker.feed(piece)) cuts.push({ end: offset + cut.end, digest: cut.digest });
    offset += piece.length;
  }
  assert.equal(chunker.finish(), data.length - (cuts.at(-1)?.end ?? 0));
  return cuts;
}

function checkShape(lengths: number[], total: number): void {
  assert.equal(lengths.reduce((x, y) => x + y, 0), total);
  lengths.slice(0, -1).forEach((l) => assert.ok(l >= MIN_SIZE && l <= MAX_SIZE, `chunk of ${l} bytes`));
}

async function lengthsOf(chunks: AsyncIterable<Buffer>, expectedHash: string): Promise<number[]> {
  const lengths: number[] = [];
  const hash = createHash('sha256');
  for await (const c of chunks) {
    lengths.push(c.length);
    hash.update(c);
  }
  assert.equal(hash.digest('hex'), expectedHash, 'chunks concatenate to the input');
  return lengths;
}

const data = testData();
const dataHash = sha256(data);

async function agree(t: TestContext, pol: bigint, random: boolean): Promise<void> {
  t.diagnostic(`seed ${seed}, polynomial ${pol.toString(16)}`);
  const label = pol.toString(16);
  const reference = cutsOf(data, pol, 'wasm', undefined);
  const ends = reference.map((c) => c.end);
  const lengths = ends.map((e, i) => e - (i === 0 ? 0 : ends[i - 1]));
  if (ends.at(-1) !== data.length) lengths.push(data.length - (ends.at(-1) ?? 0));
  checkShape(lengths, data.length);
  // A random polynomial could, with odds of 2^-20, make the constant run's digest a boundary.
  if (!random) assert.ok(lengths.includes(MAX_SIZE), 'the constant run is cut at MaxSize');

  assert.deepEqual(cutsOf(data, pol, 'ts', undefined), reference, 'ts kernel, one feed');
  for (const kernel of ['wasm', 'ts'] as const) {
    const sizes = splitSizes(data.length, rng(label + kernel + 'feed'));
    assert.deepEqual(cutsOf(data, pol, kernel, sizes), reference, `${kernel} kernel, ${sizes.length} feeds`);

    const streamSizes = splitSizes(data.length, rng(label + kernel + 'stream'));
    assert.deepEqual(await lengthsOf(chunkStream(pieces(data, streamSizes), pol, { kernel }), dataHash), lengths, `${kernel} chunkStream`);
  }
}

test('wasm and TypeScript kernels agree with each other and across feed sizes', async (t) => {
  for (const pol of [randomPolynomial(), randomPolynomial()]) {
    await t.test(`random polynomial ${pol.toString(16)}`, (t) => agree(t, pol, true));
  }
  // Lower degrees take the kernels' other reduction-index paths (polShift 32, 23 and 0).
  for (const pol of [0x3da3358b4dc173n, 0x10000000039n, 0x80000009n, 0x11bn]) {
    await t.test(`polynomial ${pol.toString(16)}`, (t) => agree(t, pol, false));
  }
});

test('chunkFile agrees with Chunker for random read sizes, reusing one FileChunker', async (t) => {
  t.diagnostic(`seed ${seed}`);
  const dir = await tempDir(t);
  const path = join(dir, 'data.bin');
  await writeFile(path, data);
  const pol = randomPolynomial();
  const ends = cutsOf(data, pol, 'wasm', undefined).map((c) => c.end);
  const expected = ends.map((e, i) => e - (i === 0 ? 0 : ends[i - 1])).concat(data.length - (ends.at(-1) ?? 0));
  const next = rng('file');
  for (const kernel of ['wasm', 'ts'] as const) {
    const readSize = 1 + next(4 * 1024 * 1024);
    assert.deepEqual(await lengthsOf(chunkFile(path, pol, { kernel, readSize }), dataHash), expected, `${kernel}, reads of ${readSize}`);
  }
  const reused = new FileChunker(pol, { readSize: 65536 + next(65536) });
  const smallPath = join(dir, 'small.bin');
  await writeFile(smallPath, data.subarray(0, 1000));
  for (const p of [path, smallPath, path]) {
    const handle = await open(p, 'r');
    try {
      const want = p === path ? expected : [1000];
      assert.deepEqual(await lengthsOf(reused.chunks(handle), sha256(p === path ? data : data.subarray(0, 1000))), want);
    } finally {
      await handle.close();
    }
  }
});

test('a FileChunker abandoned mid-file can chunk the next file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'data.bin');
  await writeFile(path, data);
  const pol = 0x3c5a9db876c2bbn;
  const chunker = new FileChunker(pol, { readSize: 1 << 20 });
  const handle = await open(path, 'r');
  try {
    for await (const chunk of chunker.chunks(handle.fd)) {
      assert.ok(chunk.length >= MIN_SIZE);
      break;
    }
    const all = await lengthsOf(chunker.chunks(handle.fd), dataHash);
    const ends = cutsOf(data, pol, 'wasm', undefined).map((c) => c.end);
    assert.equal(all.length, ends.length + 1);
  } finally {
    await handle.close();
  }
});

test('a FileChunker refuses a second file while one is in progress', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'data.bin');
  await writeFile(path, data.subarray(0, 3 * MIN_SIZE));
  const chunker = new FileChunker(0x3da3358b4dc173n);
  const handle = await open(path, 'r');
  try {
    const first = chunker.chunks(handle);
    await first.next();
    await assert.rejects(chunker.chunks(handle).next(), { code: 'ERR_INVALID_ARGUMENT' });
    await first.return(undefined);
  } finally {
    await handle.close();
  }
});

test('the kernels agree with the slow model, including low-degree polynomials', (t) => {
  t.diagnostic(`seed ${seed}`);
  const sample = Buffer.concat([pseudoRandom(2 * 1024 * 1024, seed + 'model'), data.subarray(9 * 1024 * 1024, 10 * 1024 * 1024)]);
  for (const pol of [randomPolynomial(), 0x80000009n, 0x11bn]) {
    const model = modelChunks(sample, pol);
    for (const kernel of ['wasm', 'ts'] as const) {
      const chunker = new Chunker(pol, { kernel });
      const cuts = chunker.feed(sample).map((c) => ({ length: c.length, digest: c.digest }));
      const last = chunker.finish();
      if (last > 0) cuts.push({ length: last, digest: model.at(-1)?.digest ?? -1n });
      assert.deepEqual(cuts, model, `${kernel} kernel, polynomial ${pol.toString(16)}`);
    }
  }
});
