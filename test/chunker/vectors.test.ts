// The spec's known-answer vectors (verified against restic 0.14), through every entry point and
// both kernels, plus the MaxSize path and an independent slow model of the algorithm.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Chunker, chunkFile, chunkStream, MAX_SIZE, MIN_SIZE, type KernelKind } from '../../src/chunker/index.js';
import { tempDir } from '../helpers/tmp.js';
import { inputA, modelChunks, sha256 } from './inputs.js';

const A_SHA256 = '5d042f707e4ce72806a8db68403479a9e54833d1cd4a0724a78de867073ae158';

interface Vector {
  pol: bigint;
  lengths: number[];
  digests: bigint[];
  prefixes: string[];
}

const VECTORS: Vector[] = [
  {
    pol: 0x3da3358b4dc173n,
    lengths: [1015968, 1087132, 693439, 361534],
    digests: [0x1051a055300000n, 0xe8c1a55300000n, 0xc0ae224600000n],
    prefixes: ['f3d509f80ced030c', 'a5e07d7324e2fdcc', '10b46118bf46f7b5', 'fe4077d09eaa2338'],
  },
  {
    pol: 0x3c5a9db876c2bbn,
    lengths: [594810, 1907858, 598785, 56620],
    digests: [0x16c06a61200000n, 0x1a0a76c3300000n, 0x2e1e0af800000n],
    prefixes: ['05143cd65b60a2b1', '3aa405440c4af880', '1c8b9dc72901460b', '821c8747c5c48157'],
  },
];

const KERNELS: KernelKind[] = ['wasm', 'ts'];
const ZERO_CHUNK_SHA256 = '07854d2fef297a06ba81685e660c332de36d5d18d546927d30daad6d7fda1541';

const a = inputA();

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

test('input A is the spec stream', () => {
  assert.equal(a.length, 3158073);
  assert.equal(sha256(a), A_SHA256);
});

for (const v of VECTORS) {
  const name = v.pol.toString(16);

  test(`input A, polynomial ${name}: the slow model gives the vector`, () => {
    const model = modelChunks(a, v.pol);
    assert.deepEqual(model.map((c) => c.length), v.lengths);
    assert.deepEqual(model.slice(0, -1).map((c) => c.digest), v.digests);
  });

  for (const kernel of KERNELS) {
    test(`input A, polynomial ${name}, ${kernel} kernel: Chunker cuts and digests`, () => {
      const chunker = new Chunker(v.pol, { kernel });
      assert.equal(chunker.kernel, kernel);
      const cuts = chunker.feed(a);
      assert.deepEqual(cuts.map((c) => c.length), v.lengths.slice(0, -1));
      assert.deepEqual(cuts.map((c) => c.digest), v.digests);
      let end = 0;
      assert.deepEqual(cuts.map((c) => c.end), v.lengths.slice(0, -1).map((l) => (end += l)));
      assert.equal(chunker.pending, v.lengths[3]);
      assert.equal(chunker.finish(), v.lengths[3]);
      assert.equal(chunker.pending, 0);
    });

    test(`input A, polynomial ${name}, ${kernel} kernel: chunkStream and chunkFile bytes`, async (t) => {
      const fromStream = await collect(chunkStream([a.subarray(0, 1000), a.subarray(1000)], v.pol, { kernel }));
      assert.deepEqual(fromStream.map((c) => c.length), v.lengths);
      assert.deepEqual(fromStream.map((c) => sha256(c).slice(0, 16)), v.prefixes);
      assert.equal(sha256(Buffer.concat(fromStream)), A_SHA256);

      const path = join(await tempDir(t), 'a.bin');
      await writeFile(path, a);
      const fromFile = await collect(chunkFile(path, v.pol, { kernel, readSize: 300_001 }));
      assert.deepEqual(fromFile.map((c) => sha256(c).slice(0, 16)), v.prefixes);
    });
  }
}

for (const kernel of KERNELS) {
  test(`input B (zeros), ${kernel} kernel: four MinSize chunks with digest 0, then 100 bytes`, async () => {
    const zeros = Buffer.alloc(4 * MIN_SIZE + 100);
    for (const pol of [0x3da3358b4dc173n, 0x3c5a9db876c2bbn]) {
      const cuts = new Chunker(pol, { kernel }).feed(zeros);
      assert.deepEqual(cuts.map((c) => [c.length, c.digest]), Array(4).fill([MIN_SIZE, 0n]));
      const chunks = await collect(chunkStream([zeros], pol, { kernel }));
      assert.deepEqual(chunks.map((c) => c.length), [MIN_SIZE, MIN_SIZE, MIN_SIZE, MIN_SIZE, 100]);
      assert.equal(sha256(chunks[0]), ZERO_CHUNK_SHA256);
    }
  });

  test(`a constant non-zero byte never matches, ${kernel} kernel: cuts at MaxSize`, () => {
    // With 3da3358b4dc173 the window digest of 64 × 0xaa has non-zero low 20 bits.
    const data = Buffer.alloc(2 * MAX_SIZE + 5, 0xaa);
    const chunker = new Chunker(0x3da3358b4dc173n, { kernel });
    assert.deepEqual(chunker.feed(data).map((c) => c.length), [MAX_SIZE, MAX_SIZE]);
    assert.equal(chunker.finish(), 5);
  });
}

test('streams of at most MinSize bytes are one chunk; an empty stream has none', async () => {
  for (const kernel of KERNELS) {
    assert.deepEqual((await collect(chunkStream([], 0x3da3358b4dc173n, { kernel }))).length, 0);
    assert.deepEqual((await collect(chunkStream([new Uint8Array(0)], 0x3da3358b4dc173n, { kernel }))).length, 0);
    const small = a.subarray(0, MIN_SIZE);
    const chunks = await collect(chunkStream([small], 0x3da3358b4dc173n, { kernel }));
    assert.deepEqual(chunks.map((c) => c.length), [MIN_SIZE]);
    assert.ok(chunks[0].equals(small));
  }
});
