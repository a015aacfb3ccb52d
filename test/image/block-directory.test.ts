// The block directory: generations carried from parent to child, its version-1 bytes round trip,
// its blobs deduplicate between generations, and damaged or foreign bytes are refused.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import test from 'node:test';
import { HoldfastError } from '../../src/errors.js';
import { BlockDirectory } from '../../src/image/block-directory.js';
import { decodeBlockDirectory, encodeBlockDirectory, RECORDS_PER_CHUNK } from '../../src/image/block-directory-codec.js';
import { zeroBlockId } from '../../src/image/zero-blocks.js';

const sha = (text: string): Buffer => createHash('sha256').update(text).digest();
const bs = 4096;

function firstGeneration(blocks: number, volumeSize = blocks * bs): BlockDirectory {
  const dir = BlockDirectory.first({ name: 'disk.img', source: '/dev/vdb', volumeSize, blockSize: bs, timeNs: 1_000_000_000n, mode: 'full' });
  for (let i = 0; i < dir.blockCount; i++) {
    if (i % 3 === 0) dir.setUnused(i);
    else dir.set(i, sha(`block ${i}`));
  }
  dir.finishGeneration(dir.blockCount, 'full');
  return dir;
}

test('a full generation marks every block; the next changes only what differs and keeps history', () => {
  const g1 = firstGeneration(10);
  assert.equal(g1.generation, 1);
  assert.deepEqual([...g1.generations], new Array(10).fill(1));
  assert.equal(Array.from({ length: 10 }, (_, i) => g1.isUnused(i)).filter(Boolean).length, 4);
  assert.equal(g1.contentId(0), zeroBlockId(bs).toString('hex'), 'an unused block is listed as the zero blob');
  assert.equal(g1.contentId(1), sha('block 1').toString('hex'));

  const g2 = BlockDirectory.next(g1, { parentSnapshotId: 'ab'.repeat(32), name: 'disk.img', source: '/dev/vdb', volumeSize: 10 * bs, timeNs: 2_000_000_000n, mode: 'checksum' });
  assert.equal(g2.generation, 2);
  assert.equal(g2.set(1, sha('block 1')), false, 'the same content is no change');
  assert.equal(g2.set(2, sha('block 2, new')), true);
  assert.equal(g2.setUnused(3), false, 'still unused');
  assert.equal(g2.setUnused(4), true, 'freed');
  assert.equal(g2.set(6, sha('block 6')), true, 'a block that was unused and is now used changed');
  g2.finishGeneration(3, 'checksum');
  assert.deepEqual([...g2.generations], [1, 1, 2, 1, 2, 1, 2, 1, 1, 1]);
  assert.deepEqual(
    g2.history.map((h) => [h.generation, h.changedBlocks, h.mode, h.snapshotId]),
    [
      [1, 10, 'full', 'ab'.repeat(32)],
      [2, 3, 'checksum', undefined],
    ],
  );
  assert.ok(g2.lineage.equals(g1.lineage));
  assert.equal(g1.generations[2], 1, 'the parent is not changed');
});

test('a volume that grew: old blocks are kept, new ones and a formerly short last block are unknown', () => {
  const g1 = firstGeneration(3, 3 * bs - 100);
  assert.equal(g1.blockLength(2), bs - 100);
  const g2 = BlockDirectory.next(g1, { parentSnapshotId: 'cd'.repeat(32), name: 'disk.img', source: 'x', volumeSize: 5 * bs, timeNs: 5n, mode: 'checksum' });
  assert.equal(g2.blockCount, 5);
  assert.deepEqual([g2.isUnknown(1), g2.isUnknown(2), g2.isUnknown(3), g2.isUnknown(4)], [false, true, true, true]);
  assert.ok(g2.sameId(1, sha('block 1')));
});

test('the directory round trips through its bytes, and record blobs deduplicate between generations', () => {
  const blocks = RECORDS_PER_CHUNK * 3 + 17;
  const g1 = firstGeneration(blocks, blocks * bs - 512);
  const chunks1 = encodeBlockDirectory(g1);
  assert.equal(chunks1.length, 1 + 4, 'a header blob and one blob per 4096 records');
  const back = decodeBlockDirectory(Buffer.concat(chunks1), 'test');
  assert.equal(back.name, 'disk.img');
  assert.equal(back.source, '/dev/vdb');
  assert.equal(back.volumeSize, g1.volumeSize);
  assert.equal(back.blockSize, bs);
  assert.ok(Buffer.from(back.ids).equals(Buffer.from(g1.ids)));
  assert.deepEqual([...back.generations], [...g1.generations]);
  assert.deepEqual(back.history, g1.history);
  assert.ok(back.lineage.equals(g1.lineage));

  const g2 = BlockDirectory.next(back, { parentSnapshotId: 'ef'.repeat(32), name: 'disk.img', source: '/dev/vdb', volumeSize: back.volumeSize, timeNs: 9n, mode: 'dirty-bitmap' });
  g2.set(RECORDS_PER_CHUNK + 5, sha('changed'));
  g2.finishGeneration(1, 'dirty-bitmap');
  const chunks2 = encodeBlockDirectory(g2);
  const same = chunks2.filter((c, k) => c.equals(chunks1[k]!)).length;
  assert.equal(same, chunks1.length - 2, 'only the header and the changed block\'s record blob differ');
  const g2back = decodeBlockDirectory(Buffer.concat(chunks2), 'test');
  assert.equal(g2back.generations[RECORDS_PER_CHUNK + 5], 2);
  assert.equal(g2back.history[0]!.snapshotId, 'ef'.repeat(32));
});

test('damaged, foreign and newer directories are refused with a reason', () => {
  const good = Buffer.concat(encodeBlockDirectory(firstGeneration(5)));
  const fails = (data: Buffer, pattern: RegExp, code = 'ERR_CORRUPT') =>
    assert.throws(() => decodeBlockDirectory(data, 'dir'), (err: unknown) => err instanceof HoldfastError && err.code === code && pattern.test(err.message));
  fails(Buffer.from('not a directory at all, not at all, not at all, not at all, not at all'), /not a holdfast block directory/);
  fails(good.subarray(0, good.length - 1), /bytes, expected/);
  const newer = Buffer.from(good);
  newer.writeUInt32LE(2, 8);
  fails(newer, /version 2 is not supported/, 'ERR_UNSUPPORTED');
  const badGeneration = Buffer.from(good);
  badGeneration.writeUInt32LE(7, good.length - 4);
  fails(badGeneration, /block 4 has generation 7, outside 1\.\.1/);
  const badSize = Buffer.from(good);
  badSize.writeBigUInt64LE(99n, 32);
  fails(badSize, /sizes do not agree/);
});

test('block sizes outside 4 KiB..64 MiB or not a power of two are refused', () => {
  for (const blockSize of [1024, 3 * 4096, 128 << 20]) {
    assert.throws(() => BlockDirectory.first({ name: 'x', source: 'x', volumeSize: 1 << 20, blockSize, timeNs: 0n, mode: 'full' }), /power of two from 4 KiB to 64 MiB/);
  }
});
