// Chunker throughput: the wasm and TypeScript kernels on 256 MiB of pseudo-random data in memory,
// end to end from a file (reads, chunking, chunk copies; optionally SHA-256), and small files.
// Run: node --import tsx bench/chunker.ts [MiB]   (or node dist/bench/chunker.js after tsc)

import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chunker, chunkStream, FileChunker, type KernelKind } from '../src/chunker/index.js';

const POL = 0x3da3358b4dc173n;
const MIB = 1024 * 1024;
const size = Number(process.argv[2] ?? 256) * MIB;
const ROUNDS = 3;
const SMALL_FILES = 2000;

function pseudoRandom(bytes: number): Buffer {
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16)).update(Buffer.alloc(bytes));
}

/** Best of ROUNDS, in MB/s (10^6 bytes per second, as the research notes use). */
async function best(label: string, run: () => Promise<number> | number, bytes = size, unit = 'chunks'): Promise<number> {
  let fastest = Infinity;
  let count = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const start = process.hrtime.bigint();
    count = await run();
    fastest = Math.min(fastest, Number(process.hrtime.bigint() - start) / 1e9);
  }
  console.log(`${label.padEnd(44)} ${(bytes / 1e6 / fastest).toFixed(0).padStart(6)} MB/s  (${count} ${unit})`);
  return fastest;
}

const data = pseudoRandom(size);
console.log(`chunker benchmark: ${size / MIB} MiB pseudo-random, polynomial ${POL.toString(16)}, node ${process.version}`);

for (const kernel of ['wasm', 'ts'] as KernelKind[]) {
  await best(`Chunker.feed, ${kernel} kernel`, () => {
    const chunker = new Chunker(POL, { kernel });
    const n = chunker.feed(data).length;
    return n + (chunker.finish() > 0 ? 1 : 0);
  });
}

for (const kernel of ['wasm', 'ts'] as KernelKind[]) {
  await best(`chunkStream (1 MiB pieces), ${kernel} kernel`, async () => {
    const pieces = function* (): Generator<Buffer> {
      for (let o = 0; o < size; o += MIB) yield data.subarray(o, o + MIB);
    };
    let n = 0;
    for await (const _ of chunkStream(pieces(), POL, { kernel })) n++;
    return n;
  });
}

const dir = await mkdtemp(join(tmpdir(), 'holdfast-bench-'));
try {
  const path = join(dir, 'data.bin');
  await writeFile(path, data);
  for (const kernel of ['wasm', 'ts'] as KernelKind[]) {
    for (const readSize of kernel === 'wasm' ? [256 * 1024, MIB, 4 * MIB] : [MIB]) {
      const chunker = new FileChunker(POL, { kernel, readSize });
      for (const hash of [false, true]) {
        await best(`file, ${kernel}, reads of ${readSize / 1024} KiB${hash ? ', + SHA-256' : ''}`, async () => {
          const handle = await open(path, 'r');
          let n = 0;
          try {
            for await (const chunk of chunker.chunks(handle)) {
              if (hash) createHash('sha256').update(chunk).digest();
              n++;
            }
          } finally {
            await handle.close();
          }
          return n;
        });
      }
    }
  }

  // Most files of a source tree are far below MinSize: one chunk each, so per-file cost rules.
  const small = join(dir, 'small');
  await mkdir(small);
  const paths: string[] = [];
  let smallBytes = 0;
  for (let i = 0; i < SMALL_FILES; i++) {
    const path = join(small, `f${i}`);
    const length = 4096 + ((i * 7919) % 24576);
    await writeFile(path, data.subarray(i * 4096, i * 4096 + length));
    paths.push(path);
    smallBytes += length;
  }
  const chunker = new FileChunker(POL);
  const perFile = await best(`${SMALL_FILES} small files, FileChunker (reused)`, async () => {
    for (const path of paths) {
      const handle = await open(path, 'r');
      try {
        for await (const _ of chunker.chunks(handle));
      } finally {
        await handle.close();
      }
    }
    return SMALL_FILES;
  }, smallBytes, 'files');
  const baseline = await best(`${SMALL_FILES} small files, fs.readFile (baseline)`, async () => {
    for (const path of paths) await readFile(path);
    return SMALL_FILES;
  }, smallBytes, 'files');
  console.log(`small files: ${(SMALL_FILES / perFile).toFixed(0)} files/s chunked, ${(SMALL_FILES / baseline).toFixed(0)} files/s readFile`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
