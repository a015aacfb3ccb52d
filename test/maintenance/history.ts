// Repositories with a history for the maintenance tests: a changing tree backed up by restic and
// holdfast in turn, the content of each snapshot recorded to compare restores with.

import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { holdfast, ok, restic } from '../helpers/cli.js';

/** A small deterministic generator (mulberry32), so a failing seed can be replayed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Incompressible bytes, or text that compresses, depending on the label's luck. */
function content(length: number, label: string): Buffer {
  const key = createHash('sha256').update(label).digest();
  const bytes = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
  if (key[0]! % 2 === 0) return bytes;
  const words = ['prune', 'pack', 'blob', 'tree', 'index', 'snapshot', 'repack', 'lock'];
  let text = '';
  for (let i = 0; text.length < length; i++) text += `${i} ${words[bytes[i % length]! % words.length]} ${bytes.readUInt16LE(i % (length - 2))}\n`;
  return Buffer.from(text.slice(0, length));
}

/** Relative path -> SHA-256 of the file, for every regular file below `root`. */
export async function treeDigest(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out.set(relative(root, path), createHash('sha256').update(await readFile(path)).digest('hex'));
  }
  return out;
}

export interface History {
  readonly repo: string;
  readonly src: string;
  /** Snapshot id -> the content it was taken of. */
  readonly snapshots: Map<string, Map<string, string>>;
  /** Snapshot ids in the order they were taken. */
  readonly order: string[];
}

const PACK_SIZE = ['--pack-size', '4'];

async function writeFiles(src: string, rnd: () => number, run: number, files: string[], count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const name = `d${Math.floor(rnd() * 4)}/f${run}-${i}`;
    // Mostly single-chunk files; some above restic's 512 KiB minimum chunk, to be cut into several blobs.
    const size = rnd() < 0.1 ? 600_000 + Math.floor(rnd() * 1_500_000) : 1 + Math.floor(rnd() * 250_000);
    await mkdir(join(src, name, '..'), { recursive: true });
    await writeFile(join(src, name), content(size, `${run}:${name}`));
    files.push(name);
  }
}

/** Changes about a quarter of the files (append or rewrite), deletes a tenth, adds a few. */
async function mutate(src: string, rnd: () => number, run: number, files: string[]): Promise<void> {
  for (let i = files.length - 1; i >= 0; i--) {
    const name = files[i]!;
    const r = rnd();
    if (r < 0.1) {
      await rm(join(src, name));
      files.splice(i, 1);
    } else if (r < 0.2) {
      await appendFile(join(src, name), content(1 + Math.floor(rnd() * 50_000), `append:${run}:${name}`));
    } else if (r < 0.3) {
      await writeFile(join(src, name), content(1 + Math.floor(rnd() * 200_000), `rewrite:${run}:${name}`));
    }
  }
  await writeFiles(src, rnd, run, files, 3 + Math.floor(rnd() * 6));
}

function snapshotIdOf(stdout: string): string {
  const summary = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { message_type?: string; snapshot_id?: string })
    .find((o) => o.message_type === 'summary');
  assert.ok(summary?.snapshot_id, `no snapshot id in backup output: ${stdout.slice(-500)}`);
  return summary.snapshot_id;
}

/**
 * Initialises a repository (by holdfast or restic) in `dir` and backs a changing tree up `runs`
 * times, each run by restic or holdfast at random.
 */
export async function buildHistory(dir: string, seed: number, runs: number, initBy: 'holdfast' | 'restic' = 'holdfast'): Promise<History> {
  const rnd = random(seed);
  const repo = join(dir, 'repo');
  const src = join(dir, 'src');
  if (initBy === 'holdfast') await ok(holdfast(['-r', repo, 'init']));
  else await ok(restic(['-r', repo, 'init']));
  const files: string[] = [];
  await writeFiles(src, rnd, 0, files, 30);
  const history: History = { repo, src, snapshots: new Map(), order: [] };
  for (let run = 1; run <= runs; run++) {
    if (run > 1) await mutate(src, rnd, run, files);
    const byRestic = rnd() < 0.5;
    const r = byRestic
      ? await ok(restic(['-r', repo, ...PACK_SIZE, 'backup', '--json', src]))
      : await ok(holdfast(['-r', repo, ...PACK_SIZE, '--json', 'backup', src]));
    // restic 0.14 reports the short id: find the full one.
    const prefix = snapshotIdOf(r.stdout);
    const id = (await snapshotIds(repo)).find((full) => full.startsWith(prefix) && !history.snapshots.has(full));
    assert.ok(id, `snapshot ${prefix} is listed`);
    history.snapshots.set(id, await treeDigest(src));
    history.order.push(id);
  }
  return history;
}

/** Restores each snapshot with restic and compares it with what was backed up. */
export async function assertRestores(history: History, ids: readonly string[], target: string, repo = history.repo, env: Record<string, string> = {}): Promise<void> {
  for (const id of ids) {
    const at = join(target, id);
    await ok(restic(['-r', repo, 'restore', id, '--target', at], { env }));
    const restored = await treeDigest(join(at, history.src));
    assert.deepEqual(restored, history.snapshots.get(id), `snapshot ${id.slice(0, 8)} restores what was backed up`);
    await rm(at, { recursive: true, force: true });
  }
}

/** The ids of a repository's snapshots, as restic lists them. */
export async function snapshotIds(repo: string): Promise<string[]> {
  const r = await ok(restic(['-r', repo, '--no-lock', 'snapshots', '--json']));
  return (JSON.parse(r.stdout) as Array<{ id: string }>).map((s) => s.id).sort();
}

/** restic check (with --read-data) must find no errors; hints such as unreferenced packs are fine. */
export async function assertResticCheck(repo: string, readData = true, env: Record<string, string> = {}): Promise<string> {
  const r = await restic(['-r', repo, 'check', ...(readData ? ['--read-data'] : [])], { env });
  assert.equal(r.code, 0, `restic check failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /no errors were found/);
  return r.stdout + r.stderr;
}

/** The pack holding a blob, from restic's view of the index. */
export async function packOf(repo: string, blob: string): Promise<string> {
  for (const id of (await ok(restic(['-r', repo, '--no-lock', 'list', 'index']))).stdout.trim().split('\n')) {
    const index = JSON.parse((await ok(restic(['-r', repo, '--no-lock', 'cat', 'index', id]))).stdout) as { packs: Array<{ id: string; blobs: Array<{ id: string }> }> };
    const pack = index.packs.find((p) => p.blobs.some((b) => b.id === blob));
    if (pack) return pack.id;
  }
  throw new Error(`blob ${blob} is in no index`);
}

/** The statistics block of `prune --dry-run -v` (restic's or ours), without progress lines. */
export function pruneStats(stdout: string): string {
  const start = stdout.indexOf('used:');
  assert.ok(start >= 0, `no statistics in prune output:\n${stdout}`);
  return stdout
    .slice(start)
    .split('\n')
    .filter((l) => !l.startsWith('[') && l.trim() !== '')
    .join('\n');
}
