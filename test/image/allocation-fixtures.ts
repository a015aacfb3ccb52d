// Fixtures for the allocation tests: image files behind loop devices and mounts that are always
// undone, files of many sizes, dumpe2fs/fsck parsing, and copying only the used extents.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { TestContext } from 'node:test';
import type { AllocationMap, BlockSource } from '../../src/image/allocation/index.js';
import { tempDir } from '../helpers/tmp.js';
import { requireRoot, requireTools } from '../helpers/tools.js';

/** Runs a tool and returns its stdout; a failure throws with its stderr. */
export function run(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** Runs a tool that reports through its exit status (fsck) and returns status and output. */
export function runStatus(cmd: string, ...args: string[]): { status: number; output: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error !== undefined) throw r.error;
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/**
 * Undo actions run last-in first-out in one after-hook, so a mount is gone before its loop
 * device is detached even when the test failed halfway.
 */
export class Cleanup {
  private readonly undo: Array<() => void> = [];

  constructor(t: TestContext) {
    t.after(() => {
      const errors: unknown[] = [];
      for (const fn of this.undo.reverse()) {
        try {
          fn();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) throw errors[0];
    });
  }

  push(fn: () => void): void {
    this.undo.push(fn);
  }

  /**
   * Attaches `image`, or the byte range of it given, to a free loop device. Ranges stand in for
   * partition devices (`losetup -P`), which kernels without partition-table support never create.
   * A sector size other than 512 makes the device look like a 4Kn disk to partitioning tools.
   */
  attach(image: string, range?: ImageRange, sectorSize?: number): { device: string; detach: () => void } {
    const limits = range === undefined ? [] : ['--offset', String(range.offset), '--sizelimit', String(range.length)];
    const sector = sectorSize === undefined ? [] : ['--sector-size', String(sectorSize)];
    const device = run('losetup', '--find', '--show', ...limits, ...sector, image).trim();
    let attached = true;
    const detach = (): void => {
      if (!attached) return;
      attached = false;
      run('losetup', '-d', device);
    };
    this.push(detach);
    return { device, detach };
  }

  mount(device: string, dir: string, ...options: string[]): { unmount: () => void } {
    run('mount', ...options, device, dir);
    let mounted = true;
    const unmount = (): void => {
      if (!mounted) return;
      mounted = false;
      run('umount', dir);
    };
    this.push(unmount);
    return { unmount };
  }
}

/**
 * A temporary directory and a Cleanup whose hook is registered first: after-hooks run in order,
 * so mounts and loop devices are undone before the directory holding them is removed.
 */
export async function workspace(t: TestContext): Promise<{ dir: string; cleanup: Cleanup }> {
  const cleanup = new Cleanup(t);
  const dir = await tempDir(t, 'holdfast-alloc-');
  return { dir, cleanup };
}

/** An image file of `size` bytes filled with a repeating non-zero pattern, so unused never reads as zero by chance. */
export async function patternImage(path: string, size: number): Promise<void> {
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = 0x5a ^ (i % 251);
  const fh = await open(path, 'w');
  try {
    for (let off = 0; off < size; off += chunk.length) await fh.write(chunk, 0, Math.min(chunk.length, size - off), off);
  } finally {
    await fh.close();
  }
}

/** A BlockSource over an image file, closed when the test ends. */
export async function fileSource(t: TestContext, path: string): Promise<BlockSource & { reads: number }> {
  const fh = await open(path, 'r');
  t.after(() => fh.close());
  const size = (await fh.stat()).size;
  const src = {
    size,
    reads: 0,
    async read(offset: number, length: number): Promise<Buffer> {
      src.reads++;
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    },
  };
  return src;
}

/** Writes into a file system, either through a mount or through mtools on an unmounted image. */
export interface TreeWriter {
  mkdir(rel: string): Promise<void>;
  write(rel: string, data: Buffer): Promise<void>;
  remove(rel: string): Promise<void>;
}

export function mountedWriter(root: string): TreeWriter {
  return {
    mkdir: (rel) => mkdir(join(root, rel), { recursive: true }).then(() => undefined),
    write: (rel, data) => writeFile(join(root, rel), data),
    remove: (rel) => rm(join(root, rel)),
  };
}

const mtoolsEnv = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

/** `image` may be "file@@offset" for a FAT inside a partition; `scratch` is a directory for staging files. */
export function mtoolsWriter(image: string, scratch: string): TreeWriter {
  const mtools = (cmd: string, ...args: string[]): void => {
    execFileSync(cmd, ['-i', image, ...args], { env: mtoolsEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  return {
    mkdir: async (rel) => mtools('mmd', `::/${rel}`),
    write: async (rel, data) => {
      const staged = join(scratch, 'staged.bin');
      await writeFile(staged, data);
      mtools('mcopy', '-o', staged, `::/${rel}`);
    },
    remove: async (rel) => mtools('mdel', `::/${rel}`),
  };
}

/** Copies every file of a FAT image (or "file@@offset") out with mtools, into `dir`. */
export function mtoolsExtract(image: string, dir: string): void {
  execFileSync('mcopy', ['-i', image, '-s', '-n', '::/', dir], { env: mtoolsEnv, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** True when the kernel can mount `fs` (loading its module if needed). */
export function kernelHas(fs: string): boolean {
  const listed = (): boolean => readFileSync('/proc/filesystems', 'utf8').split('\n').some((l) => l.split('\t')[1] === fs);
  if (listed()) return true;
  spawnSync('modprobe', [fs], { stdio: 'ignore' });
  return listed();
}

export type FatAccess = 'mount' | 'mtools';

/**
 * How the tests reach files on FAT: a vfat loop mount when the kernel has vfat, else mtools
 * (some VM kernels ship without vfat). Undefined when neither is possible and the test skipped.
 */
export function fatAccess(t: TestContext): FatAccess | undefined {
  if (kernelHas('vfat')) return requireRoot(t) && requireTools(t, 'losetup', 'mount') ? 'mount' : undefined;
  return requireTools(t, 'mcopy', 'mdel', 'mmd') ? 'mtools' : undefined;
}

export interface ImageRange {
  offset: number;
  length: number;
}

/** Fills the FAT file system in `image` (or in a range of it) and returns the hashes of its files. */
export async function fillFat(access: FatAccess, cleanup: Cleanup, image: string, dir: string, scale: number, range?: ImageRange): Promise<Map<string, string>> {
  if (access === 'mtools') return fillTree(mtoolsWriter(range === undefined ? image : `${image}@@${range.offset}`, dir), scale);
  const mnt = await mkdtemp(join(dir, 'fill-'));
  const loop = cleanup.attach(image, range);
  const mount = cleanup.mount(loop.device, mnt, '-t', 'vfat');
  const files = await fillTree(mountedWriter(mnt), scale);
  mount.unmount();
  loop.detach();
  return files;
}

/** The hashes of the files a FAT image (or a range of it) holds, read back the same way it was filled. */
export async function readFat(access: FatAccess, cleanup: Cleanup, image: string, dir: string, range?: ImageRange): Promise<Map<string, string>> {
  const out = await mkdtemp(join(dir, 'read-'));
  if (access === 'mtools') {
    mtoolsExtract(range === undefined ? image : `${image}@@${range.offset}`, out);
  } else {
    const loop = cleanup.attach(image, range);
    cleanup.mount(loop.device, out, '-t', 'vfat', '-o', 'ro');
  }
  return hashTree(out);
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/**
 * Writes files of sizes around sector, block and cluster boundaries and larger ones, deletes
 * every third, then writes more into the holes. Returns the sha256 of every file that remains.
 */
export async function fillTree(w: TreeWriter, scale = 1): Promise<Map<string, string>> {
  const sizes = [0, 1, 511, 512, 513, 1023, 4095, 4096, 4097, 65536 + 13, 300_000, 1 << 20, (3 << 20) + 7].map((s) => Math.floor(s * scale));
  const files = new Map<string, string>();
  await w.mkdir('d1');
  await w.mkdir('d1/d2');
  const write = async (rel: string, data: Buffer): Promise<void> => {
    await w.write(rel, data);
    files.set(rel, sha256(data));
  };
  for (let round = 0; round < 3; round++) {
    for (const [i, size] of sizes.entries()) await write(`${round % 2 === 0 ? 'd1' : 'd1/d2'}/f${round}-${i}.bin`, randomBytes(size));
  }
  for (let i = 0; i < 60; i++) await write(`small-${i}.txt`, Buffer.from(`file ${i} `.repeat(1 + i * 7)));
  for (const [i, rel] of [...files.keys()].entries()) {
    if (i % 3 !== 1) continue;
    await w.remove(rel);
    files.delete(rel);
  }
  for (const [i, size] of sizes.entries()) await write(`after-${i}.bin`, randomBytes(Math.floor(size / 2) + 1));
  return files;
}

/** sha256 of every regular file under root, by relative path. */
export async function hashTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'lost+found') await walk(p);
      } else if (e.isFile()) {
        out.set(relative(root, p), sha256(await readFile(p)));
      }
    }
  };
  await walk(root);
  return out;
}

/** Copies only the used extents of `from` into a fresh zero-filled (sparse) file of the same size. */
export async function copyUsed(from: string, map: AllocationMap, to: string): Promise<void> {
  const src = await open(from, 'r');
  const dst = await open(to, 'w');
  try {
    await dst.truncate(map.size);
    const buf = Buffer.alloc(4 << 20);
    for (const e of map.used) {
      for (let off = e.offset; off < e.offset + e.length; off += buf.length) {
        const n = Math.min(buf.length, e.offset + e.length - off);
        const { bytesRead } = await src.read(buf, 0, n, off);
        await dst.write(buf, 0, bytesRead, off);
      }
    }
  } finally {
    await src.close();
    await dst.close();
  }
}

export interface Ext2Facts {
  blockSize: number;
  blockCount: number;
  /** Free blocks as dumpe2fs lists them per group, as [first, last] inclusive. */
  free: Array<[number, number]>;
  /** Groups whose block bitmap was never written (computed from the layout instead). */
  blockUninitGroups: number;
  /** Block number of each group's block bitmap. */
  blockBitmaps: number[];
}

/** What dumpe2fs says about the file system in `image` (a file or device). */
export function dumpe2fs(image: string): Ext2Facts {
  const text = run('dumpe2fs', image);
  const field = (name: string): string => {
    const m = new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(text);
    if (m === null) throw new Error(`dumpe2fs printed no "${name}"`);
    return m[1]!.trim();
  };
  const blockSize = Number(field('Block size'));
  // With bigalloc the ranges name the first block of their first and last cluster.
  const clusterSize = /^Cluster size:/m.test(text) ? Number(field('Cluster size')) : blockSize;
  const free: Array<[number, number]> = [];
  for (const m of text.matchAll(/^ {2}Free blocks: ?(.*)$/gm)) {
    for (const r of m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      const [a, b] = r.split('-').map(Number);
      free.push([a!, (b ?? a!) + clusterSize / blockSize - 1]);
    }
  }
  return {
    blockSize,
    blockCount: Number(field('Block count')),
    free,
    blockUninitGroups: (text.match(/^Group \d+:.*BLOCK_UNINIT/gm) ?? []).length,
    blockBitmaps: [...text.matchAll(/^ {2}Block bitmap at (\d+)/gm)].map((m) => Number(m[1])),
  };
}

/** Sorts and merges byte extents given as [offset, length]. */
export function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [o, l] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && o <= last[0] + last[1]) last[1] = Math.max(last[1], o + l - last[0]);
    else if (l > 0) out.push([o, l]);
  }
  return out;
}

/** The byte ranges of a volume at `base` that dumpe2fs does not list as free (block 0 included). */
export function ext2NotFree(facts: Ext2Facts, base = 0): Array<[number, number]> {
  const bs = facts.blockSize;
  const free = mergeRanges(facts.free.map(([a, b]) => [a, b - a + 1]));
  const out: Array<[number, number]> = [];
  let cursor = 0;
  for (const [a, n] of free) {
    if (a > cursor) out.push([base + cursor * bs, (a - cursor) * bs]);
    cursor = a + n;
  }
  if (facts.blockCount > cursor) out.push([base + cursor * bs, (facts.blockCount - cursor) * bs]);
  return out;
}

/** The ranges ([offset, length]) that intersect [from, to), clipped to it. */
export function clip(ranges: Array<[number, number]>, from: number, to: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [o, l] of ranges) {
    const a = Math.max(from, o);
    const b = Math.min(to, o + l);
    if (b > a) out.push([a, b - a]);
  }
  return out;
}

/** The map's used extents that intersect [from, to), clipped to it, as [offset, length]. */
export function usedWithin(map: AllocationMap, from: number, to: number): Array<[number, number]> {
  return clip(
    map.used.map((e) => [e.offset, e.length]),
    from,
    to,
  );
}

/** Bytes of `a` that `b` does not cover (both merged extent lists). */
export function bytesNotCovered(a: Array<[number, number]>, b: Array<[number, number]>): number {
  let missing = 0;
  let j = 0;
  for (const [o, l] of a) {
    let cursor = o;
    const end = o + l;
    while (j < b.length && b[j]![0] + b[j]![1] <= cursor) j++;
    for (let k = j; k < b.length && b[k]![0] < end; k++) {
      if (b[k]![0] > cursor) missing += b[k]![0] - cursor;
      cursor = Math.max(cursor, b[k]![0] + b[k]![1]);
    }
    if (end > cursor) missing += end - cursor;
  }
  return missing;
}

export interface FatFacts {
  status: number;
  output: string;
  usedClusters: number;
  clusters: number;
  firstFat: number;
  fatCount: number;
  fatBytes: number;
  fatBits: number;
  dataStart: number;
  clusterBytes: number;
}

/** fsck.fat's verdict (read-only) and the geometry and cluster counts it prints. */
export function fsckFat(image: string): FatFacts {
  const { status, output } = runStatus('fsck.fat', '-n', '-v', image);
  const num = (re: RegExp, group = 1): number => {
    const m = re.exec(output);
    if (m === null) throw new Error(`fsck.fat printed nothing matching ${re}:\n${output}`);
    return Number(m[group]);
  };
  return {
    status,
    output,
    usedClusters: num(/(\d+)\/(\d+) clusters/),
    clusters: num(/(\d+)\/(\d+) clusters/, 2),
    firstFat: num(/First FAT starts at byte (\d+)/),
    fatCount: num(/(\d+) FATs, \d+ bit entries/),
    fatBits: num(/FATs, (\d+) bit entries/),
    fatBytes: num(/(\d+) bytes per FAT/),
    dataStart: num(/Data area starts at byte (\d+)/),
    clusterBytes: num(/(\d+) bytes per cluster/),
  };
}

/** Formats bytes for the diagnostics the tests print. */
export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}
