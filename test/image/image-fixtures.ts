// Fixtures for the image backup tests: repositories, the CLI's JSON summaries, per-block views of
// image files, and the expected generation of every block, computed without holdfast's code.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { findImageSnapshot, type ImageSnapshot } from '../../src/image/index.js';
import { openRepository } from '../../src/repository/keys.js';
import { holdfast, ok, restic, testEnv } from '../helpers/cli.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** A fresh repository in `dir`. */
export async function newRepo(dir: string): Promise<string> {
  const repo = join(dir, 'repo');
  await ok(holdfast(['-r', repo, 'init']));
  return repo;
}

/** The last JSON line a command printed (its summary). */
export function lastJson<T = Record<string, unknown>>(stdout: string): T {
  const lines = stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  return JSON.parse(lines[lines.length - 1]!) as T;
}

export interface BackupSummary {
  image: string;
  layout: string;
  mode: string;
  generation: number;
  parent?: string;
  blocks_total: number;
  blocks_unused: number;
  blocks_read: number;
  blocks_sampled: number;
  blocks_reused: number;
  blocks_changed: number;
  blocks_stored: number;
  bytes_read: number;
  metadata_bytes_read: number;
  warnings: string[];
  snapshot_id: string;
}

export async function imageBackup(repo: string, args: readonly string[]): Promise<BackupSummary> {
  return lastJson<BackupSummary>((await ok(holdfast(['-r', repo, '--json', 'backup', ...args]))).stdout);
}

export async function snapshotCount(repo: string): Promise<number> {
  try {
    return (await readdir(join(repo, 'snapshots'))).length;
  } catch {
    return 0;
  }
}

/** `restic restore` of a snapshot into `dir`; returns the restored image's path. */
export async function resticRestore(repo: string, snapshot: string, dir: string, name: string): Promise<string> {
  await ok(restic(['-r', repo, 'restore', snapshot, '--target', dir]));
  return join(dir, name);
}

/** Asserts `restic check --read-data` finds nothing wrong. */
export async function resticCheck(repo: string): Promise<void> {
  const r = await ok(restic(['-r', repo, 'check', '--read-data']));
  assert.match(r.stdout, /no errors were found/);
}

/** SHA-256 of every block of a file (the last one may be short). */
export async function blockHashes(path: string, blockSize: number): Promise<string[]> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const out: string[] = [];
    const buf = Buffer.alloc(blockSize);
    for (let at = 0; at < size; at += blockSize) {
      const n = Math.min(blockSize, size - at);
      await fh.read(buf, 0, n, at);
      out.push(createHash('sha256').update(buf.subarray(0, n)).digest('hex'));
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** Blocks of `blockSize` that any of the byte ranges ([offset, length]) touches. */
export function touchedBlocks(ranges: Array<[number, number]>, blockSize: number): Set<number> {
  const set = new Set<number>();
  for (const [o, l] of ranges) for (let b = Math.floor(o / blockSize); b < Math.ceil((o + l) / blockSize); b++) set.add(b);
  return set;
}

/** Opens the repository in-process to look at an image snapshot's block directory. */
export async function loadImage(t: TestContext, repo: string, spec: string): Promise<ImageSnapshot> {
  const r = await openRepository(new LocalBackend(repo), testEnv.HOLDFAST_PASSWORD);
  t.after(() => r.close());
  await r.loadIndex();
  return findImageSnapshot(r, spec);
}

/**
 * The blocks whose restored content differs between two images restored from consecutive
 * generations: exactly the blocks that must carry the newer generation's number.
 */
export async function differingBlocks(a: string, b: string, blockSize: number): Promise<Set<number>> {
  const [ha, hb] = await Promise.all([blockHashes(a, blockSize), blockHashes(b, blockSize)]);
  const out = new Set<number>();
  for (let i = 0; i < Math.max(ha.length, hb.length); i++) if (ha[i] !== hb[i]) out.add(i);
  return out;
}

/**
 * What restoring `source` must give when only `used` blocks are kept: a sparse copy with every
 * other block zero. Built with plain file I/O, so it checks holdfast rather than repeating it.
 */
export async function maskedCopy(source: string, used: Set<number>, blockSize: number, target: string): Promise<void> {
  const src = await open(source, 'r');
  const dst = await open(target, 'w');
  try {
    const size = (await src.stat()).size;
    await dst.truncate(size);
    const buf = Buffer.alloc(blockSize);
    for (const b of [...used].sort((x, y) => x - y)) {
      const at = b * blockSize;
      if (at >= size) continue;
      const n = Math.min(blockSize, size - at);
      await src.read(buf, 0, n, at);
      await dst.write(buf, 0, n, at);
    }
  } finally {
    await src.close();
    await dst.close();
  }
}
