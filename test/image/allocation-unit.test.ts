// Allocation detection without tools: checksums, the extent builder, projection onto backup
// blocks, and hand-built MBR chains and FAT12 volumes in memory.

import assert from 'node:assert/strict';
import test from 'node:test';
import { crc16Update, crc32, crc32cUpdate } from '../../src/image/allocation/checksums.js';
import { ExtentBuilder } from '../../src/image/allocation/extent-builder.js';
import { detectAllocation, usedBlocks, type AllocationMap, type BlockSource } from '../../src/image/allocation/index.js';

const MiB = 1 << 20;

function memory(buf: Buffer): BlockSource {
  return { size: buf.length, read: async (offset, length) => buf.subarray(offset, offset + length) };
}

function pairs(map: AllocationMap): Array<[number, number]> {
  return map.used.map((e) => [e.offset, e.length]);
}

test('checksums match their published check values', () => {
  const check = Buffer.from('123456789');
  assert.equal(crc32(check), 0xcbf43926);
  assert.equal(~crc32cUpdate(0xffffffff, check) >>> 0, 0xe3069283);
  assert.equal(crc16Update(0, check), 0xbb3d);
});

test('the extent builder merges, widens to the granularity, clips, and insists on order', () => {
  const exact = new ExtentBuilder(0, 10_000, 1);
  exact.add(0, 10);
  exact.add(10, 5);
  exact.add(12, 8);
  exact.add(30, 0);
  exact.add(40, 1);
  assert.deepEqual(exact.extents, [{ offset: 0, length: 20 }, { offset: 40, length: 1 }]);
  assert.equal(exact.exactBytes, 21);
  assert.throws(() => exact.add(39, 1), /added after/);

  const coarse = new ExtentBuilder(1000, 5000, 512);
  coarse.add(1100, 10);
  coarse.add(1600, 10);
  coarse.add(4900, 500);
  assert.deepEqual(coarse.extents, [{ offset: 1024, length: 1024 }, { offset: 4608, length: 392 }]);
  assert.equal(coarse.exactBytes, 120);
  assert.equal(coarse.bytes, 1416);
  const clipped = new ExtentBuilder(1000, 5000, 4096);
  clipped.add(1000, 1);
  assert.deepEqual(clipped.extents, [{ offset: 1000, length: 3096 }]);
});

test('usedBlocks marks every block that any used byte touches, the last one short', () => {
  const map: AllocationMap = {
    size: 5 * MiB - 7,
    used: [
      { offset: 0, length: 1 },
      { offset: 3 * MiB - 1, length: 2 },
      { offset: 5 * MiB - 8, length: 1 },
    ],
    usedBytes: 4,
    granularity: 1,
    layout: [],
    warnings: [],
    metadataBytesRead: 0,
  };
  const blocks = usedBlocks(map);
  assert.equal(blocks.count, 5);
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => blocks.has(i)), [true, false, true, true, true]);
  assert.equal(blocks.usedCount, 4);
  const fine = usedBlocks({ ...map, used: [{ offset: 4096, length: 64 * 4096 }] }, 4096);
  assert.equal(fine.usedCount, 64);
  assert.equal(fine.has(0) || fine.has(65), false);
  assert.throws(() => usedBlocks(map, 0), /block size/);
});

test('an image with no known structure is read in full, with a warning naming it unknown', async () => {
  const map = await detectAllocation(memory(Buffer.alloc(MiB)));
  assert.deepEqual(pairs(map), [[0, MiB]]);
  assert.deepEqual(map.warnings, ['unknown file system on disk: no known signature; reading it in full']);
  assert.deepEqual(map.layout, [{ kind: 'volume', name: 'disk', offset: 0, length: MiB, fs: 'unknown', usedBytes: MiB }]);
  const ntfs = Buffer.alloc(MiB);
  ntfs.write('NTFS    ', 3, 'latin1');
  assert.deepEqual((await detectAllocation(memory(ntfs))).warnings, ['unknown file system on disk: NTFS signature, not parsed; reading it in full']);
  await assert.rejects(detectAllocation(memory(ntfs), { granularity: 1000 }), /granularity/);
});

function mbrEntry(sector: Buffer, index: number, type: number, startLba: number, sectors: number): void {
  const e = 446 + 16 * index;
  sector[e + 4] = type;
  sector.writeUInt32LE(startLba, e + 8);
  sector.writeUInt32LE(sectors, e + 12);
  sector[510] = 0x55;
  sector[511] = 0xaa;
}

test('MBR: primaries, a chain of logical partitions that loops, and a partition past the end', async () => {
  const disk = Buffer.alloc(16 * MiB);
  const at = (lba: number): Buffer => disk.subarray(lba * 512, lba * 512 + 512);
  mbrEntry(at(0), 0, 0x83, 2048, 2048);
  mbrEntry(at(0), 1, 0x05, 4096, 8192);
  mbrEntry(at(0), 2, 0x83, 30000, 4000);
  // EBR 1 at the extended start: a logical partition 2048 sectors on, then EBR 2 4096 sectors into the extended partition.
  mbrEntry(at(4096), 0, 0x83, 2048, 1024);
  mbrEntry(at(4096), 1, 0x05, 4096, 2048);
  // EBR 2 links back to EBR 1.
  mbrEntry(at(8192), 0, 0x83, 1024, 1024);
  mbrEntry(at(8192), 1, 0x05, 0, 2048);

  const map = await detectAllocation(memory(disk));
  assert.deepEqual(map.warnings, [
    'MBR: the chain of logical partitions loops at sector 4096; stopping there',
    'MBR: partition 3 ends beyond the image; using the 1417216 bytes that exist',
    'unknown file system on partition 1: no known signature; reading it in full',
    'unknown file system on partition 5: no known signature; reading it in full',
    'unknown file system on partition 6: no known signature; reading it in full',
    'unknown file system on partition 3: no known signature; reading it in full',
  ]);
  assert.deepEqual(
    map.layout.map((p) => [p.kind, p.kind === 'volume' ? p.name : p.kind === 'table' ? p.table : '', p.offset / 512, p.length / 512]),
    [
      ['table', 'mbr', 0, 1],
      ['gap', '', 1, 2047],
      ['volume', 'partition 1', 2048, 2048],
      ['table', 'ebr', 4096, 1],
      ['gap', '', 4097, 2047],
      ['volume', 'partition 5', 6144, 1024],
      ['gap', '', 7168, 1024],
      ['table', 'ebr', 8192, 1],
      ['gap', '', 8193, 1023],
      ['volume', 'partition 6', 9216, 1024],
      ['gap', '', 10240, 19760],
      ['volume', 'partition 3', 30000, 2768],
    ],
  );
  assert.deepEqual(pairs(map), [[0, disk.length]]);
});

test('MBR: overlapping partitions are both read in full and not probed', async () => {
  const disk = Buffer.alloc(4 * MiB);
  mbrEntry(disk, 0, 0x83, 2048, 2048);
  mbrEntry(disk, 1, 0x83, 3000, 2000);
  const map = await detectAllocation(memory(disk));
  assert.deepEqual(map.warnings, ['partitions 1 and 2 overlap; reading both in full']);
  assert.equal(map.layout.some((p) => p.kind === 'volume'), false);
  assert.deepEqual(pairs(map), [[0, disk.length]]);
});

/** A 1 MiB FAT12 volume: 512-byte sectors and clusters, 2 FATs of 6 sectors, a 1-sector root directory. */
function fat12(entries: Record<number, number>, secondFat: Record<number, number> = entries): Buffer {
  const vol = Buffer.alloc(MiB, 0x5a);
  vol.fill(0, 0, 7168);
  vol[0] = 0xeb;
  vol[1] = 0x3c;
  vol[2] = 0x90;
  vol.writeUInt16LE(512, 0x0b);
  vol[0x0d] = 1;
  vol.writeUInt16LE(1, 0x0e);
  vol[0x10] = 2;
  vol.writeUInt16LE(16, 0x11);
  vol.writeUInt16LE(2048, 0x13);
  vol[0x15] = 0xf8;
  vol.writeUInt16LE(6, 0x16);
  vol[510] = 0x55;
  vol[511] = 0xaa;
  const put = (fat: number, table: Record<number, number>): void => {
    const base = 512 + fat * 3072;
    for (const [k, v] of Object.entries({ 0: 0xff8, 1: 0xfff, ...table })) {
      const n = Number(k);
      const off = base + ((n * 3) >> 1);
      const pair = vol.readUInt16LE(off);
      vol.writeUInt16LE(n & 1 ? (pair & 0x000f) | (v << 4) : (pair & 0xf000) | v, off);
    }
  };
  put(0, entries);
  put(1, secondFat);
  return vol;
}

test('FAT12: even and odd entries, chains, bad clusters, and the granularity', async () => {
  const data = 7168;
  const vol = fat12({ 2: 0xfff, 3: 4, 4: 0xfff, 7: 0xff7, 100: 0xfff, 101: 0xfff, 2035: 0xfff });
  const map = await detectAllocation(memory(vol));
  assert.deepEqual(map.warnings, []);
  assert.deepEqual(map.layout, [{ kind: 'volume', name: 'disk', offset: 0, length: MiB, fs: 'fat12', fsLength: MiB, usedBytes: data + 6 * 512 }]);
  assert.deepEqual(pairs(map), [
    [0, data + 3 * 512],
    [data + 98 * 512, 2 * 512],
    [data + 2033 * 512, 512],
  ]);
  // The first 4 KiB twice, then the entries of clusters 0–2035 (1.5 bytes each) from both FATs.
  assert.equal(map.metadataBytesRead, 4096 * 2 + 2 * 3054);

  const coarse = await detectAllocation(memory(vol), { granularity: 64 * 1024 });
  assert.deepEqual(pairs(coarse), [
    [0, 64 * 1024],
    [MiB - 64 * 1024, 64 * 1024],
  ]);
});

test('FAT12: copies that differ are united, with a warning', async () => {
  const map = await detectAllocation(memory(fat12({ 2: 0xfff }, { 2: 0xfff, 50: 0xfff })));
  assert.deepEqual(map.warnings, ['fat12 on disk: the FAT copies differ; a cluster counts as used if any copy uses it']);
  assert.deepEqual(pairs(map), [
    [0, 7168 + 512],
    [7168 + 48 * 512, 512],
  ]);
});
