// The delta file: what the writer writes the reader reads back, entries in any order; a file that
// was cut short or altered anywhere fails its trailing SHA-256 before anything is used.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { HoldfastError } from '../../src/errors.js';
import { type DeltaHeader, DeltaReader, DeltaWriter } from '../../src/image/delta-format.js';
import { zeroBlockId } from '../../src/image/zero-blocks.js';
import { tempDir } from '../helpers/tmp.js';

const sha = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

function header(entryCount: number): DeltaHeader {
  return {
    name: 'vm disk',
    blockSize: 65536,
    baseVolumeSize: 10 * 65536,
    volumeSize: 12 * 65536 - 100,
    baseGeneration: 3,
    generation: 5,
    lineage: randomBytes(16),
    baseSnapshot: 'a'.repeat(64),
    snapshot: 'b'.repeat(64),
    entryCount,
    samples: [{ block: 7, sha256: sha(Buffer.from('seven')) }],
  };
}

test('a written delta reads back: header, samples and entries with their data', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'd.delta');
  const h = header(3);
  const one = randomBytes(65536);
  const last = randomBytes(65536 - 100);
  const w = await DeltaWriter.create(path, h);
  await Promise.all([
    w.entry({ block: 11, length: last.length, kind: 'data', baseSha256: undefined, sha256: sha(last) }, last),
    w.entry({ block: 2, length: 65536, kind: 'zero', baseSha256: sha(Buffer.from('old')), sha256: zeroBlockId(65536) }),
    w.entry({ block: 1, length: 65536, kind: 'data', baseSha256: sha(Buffer.from('older')), sha256: sha(one) }, one),
  ]);
  const size = await w.finish();
  assert.deepEqual(await readdir(dir), ['d.delta'], 'the temporary name is gone');
  assert.equal((await readFile(path)).length, size);

  const r = await DeltaReader.open(path);
  t.after(() => r.close());
  assert.deepEqual({ ...r.header, lineage: r.header.lineage.toString('hex') }, { ...h, lineage: h.lineage.toString('hex') });
  const entries = [];
  for await (const e of r.entries(true)) entries.push(e);
  assert.deepEqual(entries.map((e) => [e.entry.block, e.entry.kind, e.entry.baseSha256 === undefined]), [
    [11, 'data', true],
    [2, 'zero', false],
    [1, 'data', false],
  ]);
  assert.ok(entries[0]!.data!.equals(last));
  assert.ok(entries[2]!.data!.equals(one));
  assert.equal(entries[1]!.data, undefined);
});

test('a truncated, altered or foreign file is refused before use; a failed writer leaves nothing', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'd.delta');
  const data = randomBytes(65536);
  const w = await DeltaWriter.create(path, header(1));
  await w.entry({ block: 0, length: 65536, kind: 'data', baseSha256: undefined, sha256: sha(data) }, data);
  await w.finish();
  const good = await readFile(path);
  const refused = async (bytes: Buffer, pattern: RegExp) => {
    await writeFile(path, bytes);
    await assert.rejects(DeltaReader.open(path), (err: unknown) => err instanceof HoldfastError && pattern.test(err.message));
  };
  await refused(good.subarray(0, good.length - 10), /damaged or incomplete/);
  const altered = Buffer.from(good);
  altered[1000] ^= 1;
  await refused(altered, /damaged or incomplete/);
  await refused(Buffer.concat([Buffer.from('PK\x03\x04'), good.subarray(4)]), /not a holdfast delta file/);

  const other = join(dir, 'other.delta');
  const incomplete = await DeltaWriter.create(other, header(2));
  await incomplete.entry({ block: 0, length: 65536, kind: 'data', baseSha256: undefined, sha256: sha(data) }, data);
  await assert.rejects(incomplete.finish(), /delta has 1 entries, its header says 2/);
  await incomplete.abort();
  assert.deepEqual((await readdir(dir)).sort(), ['d.delta']);
});
