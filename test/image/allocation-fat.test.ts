// FAT12/16/32 allocation against real mkfs.fat images: metadata is used in full, data clusters
// exactly as fsck.fat counts them, bad clusters never, and a copy of the used bytes is intact.

import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { detectAllocation, type AllocationMap } from '../../src/image/allocation/index.js';
import { requireTools } from '../helpers/tools.js';
import {
  copyUsed,
  fatAccess,
  fileSource,
  fillFat,
  fsckFat,
  mib,
  patternImage,
  readFat,
  run,
  usedWithin,
  workspace,
  type FatFacts,
} from './allocation-fixtures.js';

const variants = [
  { bits: 12, size: 12 << 20, scale: 0.25 },
  { bits: 16, size: 64 << 20, scale: 1 },
  { bits: 32, size: 128 << 20, scale: 1 },
];

function sum(ranges: Array<[number, number]>): number {
  return ranges.reduce((n, [, l]) => n + l, 0);
}

/** Checks the map against fsck.fat's numbers; `badClusters` are clusters the FAT marks bad. */
function checkAgainstFsck(map: AllocationMap, facts: FatFacts, badClusters: number): void {
  assert.deepEqual(usedWithin(map, 0, facts.dataStart), [[0, facts.dataStart]], 'boot sector, FATs and root directory are used');
  const dataEnd = facts.dataStart + facts.clusters * facts.clusterBytes;
  assert.equal(sum(usedWithin(map, facts.dataStart, dataEnd)), (facts.usedClusters - badClusters) * facts.clusterBytes);
  assert.deepEqual(usedWithin(map, dataEnd, map.size), [], 'sectors after the last cluster are unused');
}

for (const v of variants) {
  test(`FAT${v.bits}: used clusters match fsck.fat; a copy of only the used bytes is clean with identical files`, async (t) => {
    const access = fatAccess(t);
    if (access === undefined || !requireTools(t, 'mkfs.fat', 'fsck.fat')) return;
    const { dir, cleanup } = await workspace(t);
    const image = join(dir, 'fat.img');
    await patternImage(image, v.size);
    run('mkfs.fat', '-F', String(v.bits), image);
    const files = await fillFat(access, cleanup, image, dir, v.scale);
    const facts = fsckFat(image);
    assert.equal(facts.status, 0, facts.output);
    assert.equal(facts.fatBits, v.bits);

    const map = await detectAllocation(await fileSource(t, image));
    assert.deepEqual(map.warnings, []);
    assert.equal(map.layout[0]?.kind === 'volume' && map.layout[0].fs, `fat${v.bits}`);
    checkAgainstFsck(map, facts, 0);
    assert.ok(facts.usedClusters > 0 && facts.usedClusters < facts.clusters);

    const copy = join(dir, 'copy.img');
    await copyUsed(image, map, copy);
    const copyFacts = fsckFat(copy);
    assert.equal(copyFacts.status, 0, copyFacts.output);
    assert.equal(copyFacts.usedClusters, facts.usedClusters);
    assert.deepEqual(await readFat(access, cleanup, copy, dir), files);
    t.diagnostic(`FAT${v.bits} (${access}): used ${mib(map.usedBytes)} of ${mib(map.size)} in ${map.used.length} extents; metadata read ${map.metadataBytesRead} bytes`);
  });
}

test('FAT16: clusters marked bad are not read, and the copy still checks clean', async (t) => {
  const access = fatAccess(t);
  if (access === undefined || !requireTools(t, 'mkfs.fat', 'fsck.fat')) return;
  const { dir, cleanup } = await workspace(t);
  const image = join(dir, 'fat.img');
  await patternImage(image, 64 << 20);
  run('mkfs.fat', '-F', '16', image);
  const files = await fillFat(access, cleanup, image, dir, 1);
  const before = fsckFat(image);
  const bad = [before.clusters - 3, before.clusters - 2, before.clusters - 1, before.clusters, before.clusters + 1];
  const fh = await open(image, 'r+');
  try {
    for (let n = 0; n < before.fatCount; n++) {
      for (const c of bad) {
        const at = before.firstFat + n * before.fatBytes + 2 * c;
        const entry = Buffer.alloc(2);
        await fh.read(entry, 0, 2, at);
        assert.equal(entry.readUInt16LE(0), 0, `cluster ${c} is free before it is marked bad`);
        entry.writeUInt16LE(0xfff7);
        await fh.write(entry, 0, 2, at);
      }
    }
  } finally {
    await fh.close();
  }
  const facts = fsckFat(image);
  assert.equal(facts.status, 0, facts.output);
  assert.equal(facts.usedClusters, before.usedClusters + bad.length, 'fsck.fat counts bad clusters as not free');

  const map = await detectAllocation(await fileSource(t, image));
  assert.deepEqual(map.warnings, []);
  checkAgainstFsck(map, facts, bad.length);
  for (const c of bad) {
    const at = facts.dataStart + (c - 2) * facts.clusterBytes;
    assert.deepEqual(usedWithin(map, at, at + facts.clusterBytes), [], `bad cluster ${c} is not read`);
  }

  const copy = join(dir, 'copy.img');
  await copyUsed(image, map, copy);
  const copyFacts = fsckFat(copy);
  assert.equal(copyFacts.status, 0, copyFacts.output);
  assert.deepEqual(await readFat(access, cleanup, copy, dir), files);
});

test('a FAT volume whose boot sector carries a fake whole-disk MBR is still one FAT volume', async (t) => {
  if (!requireTools(t, 'mkfs.fat', 'fsck.fat')) return;
  const { dir } = await workspace(t);
  const image = join(dir, 'fat.img');
  await patternImage(image, 64 << 20);
  run('mkfs.fat', '-F', '16', '--mbr=y', image);
  const facts = fsckFat(image);
  const map = await detectAllocation(await fileSource(t, image));
  assert.deepEqual(map.warnings, []);
  assert.deepEqual(map.layout.map((p) => p.kind === 'volume' && [p.name, p.fs]), [['disk', 'fat16']]);
  checkAgainstFsck(map, facts, 0);
});
