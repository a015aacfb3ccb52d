// Resuming a holdfast backup to a holdfast server after a SIGKILL of the server or of the client:
// the rerun completes and re-sends at most one pack per upload slot of the data already stored.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { openRepository } from '../../src/repository/keys.js';
import { summaryOf } from '../helpers/backup-json.js';
import { testEnv } from '../helpers/cli.js';
import { type RequestLine, ServerProcess } from '../helpers/server-process.js';
import { startProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { cliCommand, expectOk, run, treeDigest } from './harness.js';

const MiB = 1024 * 1024;
const PACK_SIZE = 4 * MiB;
/** Packs a backup uploads at once: the repository's default upload concurrency. */
const UPLOAD_SLOTS = 2;
const FILES = 10;
const FILE_SIZE = 3 * MiB;

/** Every pack in a repository directory on the server, with its size. */
async function storedPacks(repoDir: string): Promise<Map<string, number>> {
  const packs = new Map<string, number>();
  for (const sub of await readdir(join(repoDir, 'data')).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{2}$/.test(sub)) continue;
    for (const name of await readdir(join(repoDir, 'data', sub))) {
      if (/^[0-9a-f]{64}$/.test(name)) packs.set(name, (await stat(join(repoDir, 'data', sub, name))).size);
    }
  }
  return packs;
}

/** Upload temp files the server has not cleaned up yet: while one exists, a pack may still appear. */
async function uploadsInProgress(repoDir: string): Promise<number> {
  let n = 0;
  for (const sub of await readdir(join(repoDir, 'data')).catch(() => [] as string[])) {
    n += (await readdir(join(repoDir, 'data', sub)).catch(() => [] as string[])).filter((f) => f.includes('.upload-')).length;
  }
  return n;
}

interface Resent {
  /** Bytes of blobs that packs stored before the kill already held, stored again by the rerun. */
  readonly bytes: number;
  /** Packs of the rerun holding any such blob. */
  readonly packs: number;
}

/** Reads the pack headers with the key (straight from the server's disk) and finds the blobs stored twice. */
async function resentBlobs(repoDir: string, before: Map<string, number>, after: Map<string, number>): Promise<Resent> {
  const repo = await openRepository(new LocalBackend(repoDir), testEnv.HOLDFAST_PASSWORD);
  try {
    const known = new Set<string>();
    for (const [name, size] of before) for (const b of await repo.readPackHeader(name, size)) known.add(b.type + b.id);
    let bytes = 0;
    let packs = 0;
    for (const [name, size] of after) {
      if (before.has(name)) continue;
      const again = (await repo.readPackHeader(name, size)).filter((b) => known.has(b.type + b.id));
      bytes += again.reduce((sum, b) => sum + b.length, 0);
      if (again.length > 0) packs++;
    }
    return { bytes, packs };
  } finally {
    await repo.close();
  }
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

interface Setup {
  readonly server: ServerProcess;
  readonly repo: string;
  readonly repoDir: string;
  readonly src: string;
  readonly work: string;
}

/**
 * A server, a client and 30 MiB of random files. The client reaches the server through a proxy
 * that paces uploads at 6 MiB/s, so that a kill reliably lands in the middle of the backup.
 */
async function setup(t: TestContext): Promise<Setup> {
  const server = await ServerProcess.start(t);
  const { repo: direct } = await server.addClient('laptop');
  const proxy = await startProxy(t, server.port, { bytesPerSecond: 6 * MiB });
  const repo = direct.replace(`127.0.0.1:${server.port}/`, `127.0.0.1:${proxy.port}/`);
  const work = await tempDir(t);
  const src = join(work, 'src');
  await mkdir(src);
  for (let i = 0; i < FILES; i++) await writeFile(join(src, `f${i}`), randomBytes(FILE_SIZE));
  const { cmd, args } = cliCommand();
  expectOk(await run(t, cmd, [...args, '-r', repo, 'init'], testEnv), 'init');
  return { server, repo, repoDir: server.repoDir('laptop'), src, work };
}

function backupArgs(s: Setup, extra: readonly string[] = []): string[] {
  return ['-r', s.repo, '--json', '--pack-size', String(PACK_SIZE / MiB), '--compression', 'off', 'backup', ...extra, s.src];
}

/** Starts a backup in the background; the test's end kills it if it still runs. */
function startBackup(t: TestContext, s: Setup, extra: readonly string[] = []): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const { cmd, args } = cliCommand();
  const child = spawn(cmd, [...args, ...backupArgs(s, extra)], { env: { ...process.env, ...testEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = once(child, 'close').then(([code]) => ({ code: code as number | null, stderr }));
  return { child, done };
}

/** Waits until at least `packs` packs are stored while the backup still runs. */
async function whenStored(s: Setup, child: ChildProcess, packs: number): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    assert.equal(child.exitCode, null, 'the backup is still running when it is interrupted');
    if ((await storedPacks(s.repoDir)).size >= packs) return;
    await sleep(25);
  }
  throw new Error(`no ${packs} packs were stored in time`);
}

/** Runs the backup again, checks everything, and measures what it sent again. */
async function rerunAndMeasure(t: TestContext, s: Setup, atKill: Map<string, number>, logStart: number, logFrom: number): Promise<void> {
  const { cmd, args } = cliCommand();
  const out = expectOk(await run(t, cmd, [...args, ...backupArgs(s)], testEnv), 'rerun');
  const rerun = summaryOf({ ...out, code: 0, stdoutBytes: Buffer.from(out.stdout) });
  const after = await storedPacks(s.repoDir);
  const uploads = (await s.server.requests(logStart)).slice(logFrom).filter((r: RequestLine) => r.method === 'POST' && r.kind === 'data');
  const resent = await resentBlobs(s.repoDir, atKill, after);
  const newPacks = after.size - atKill.size;
  // A pack passes the target size by up to one chunk; one pack per slot is bounded by the largest.
  const limit = UPLOAD_SLOTS * Math.max(...after.values());
  t.diagnostic(
    `stored at the kill: ${atKill.size} packs, ${mib(sum(atKill))}; the rerun stored ${newPacks} packs, ${mib(sum(after) - sum(atKill))} ` +
      `(${uploads.length} data uploads, ${mib(uploads.reduce((a, r) => a + r.bytes, 0))} received by the server); ` +
      `re-sent of what was stored: ${resent.bytes} bytes in ${resent.packs} packs (limit ${UPLOAD_SLOTS} packs, ${mib(limit)})`,
  );
  assert.ok(resent.packs <= UPLOAD_SLOTS, `the rerun re-sent stored blobs in ${resent.packs} packs`);
  assert.ok(resent.bytes <= limit, `the rerun re-sent ${resent.bytes} bytes of stored blobs`);
  assert.ok(rerun.data_added_packed <= FILES * FILE_SIZE - sum(atKill) + limit, `the rerun added ${rerun.data_added_packed} bytes`);

  const { cmd: c, args: a } = cliCommand();
  assert.match(expectOk(await run(t, c, [...a, '-r', s.repo, 'check', '--read-data'], testEnv), 'check').stdout, /no errors were found/);
  const restic = await run(t, 'restic', ['-r', s.repoDir, '--no-cache', 'check', '--read-data'], testEnv);
  assert.match(expectOk(restic, 'restic check on the server disk').stdout, /no errors were found/);
  const dst = join(s.work, 'dst');
  expectOk(await run(t, c, [...a, '-r', s.repo, 'restore', 'latest', '--target', dst], testEnv), 'restore');
  assert.deepEqual(await treeDigest(join(dst, s.src)), await treeDigest(s.src));
}

test('server killed mid-backup: the client stops with one clear line; after a restart the rerun completes re-sending at most a pack per slot', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const s = await setup(t);
  const backup = startBackup(t, s, ['--checkpoint-interval', '1s']);
  await whenStored(s, backup.child, 3);
  await s.server.kill('SIGKILL');
  const atKill = await storedPacks(s.repoDir);

  // The client retries for a while, then gives up.
  const killedAt = Date.now();
  const first = await backup.done;
  t.diagnostic(`the client gave up ${((Date.now() - killedAt) / 1000).toFixed(0)} s after the server died: ${first.stderr.trim()}`);
  assert.notEqual(first.code, 0);
  const lines = first.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${first.stderr}`);
  assert.match(lines[0]!, /^holdfast: cannot \S+ \S+ at rest:http:\/\/laptop:\*\*\*@127\.0\.0\.1:\d+\/laptop\/: .* \(\d+ attempts\)$/);
  assert.deepEqual(await readdir(join(s.repoDir, 'snapshots')), [], 'no snapshot without a finished backup');

  await s.server.restart();
  await rerunAndMeasure(t, s, atKill, 2, 0);
});

test('client killed mid-backup: the rerun completes re-sending at most a pack per slot', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const s = await setup(t);
  const backup = startBackup(t, s);
  await whenStored(s, backup.child, 3);
  backup.child.kill('SIGKILL');
  await backup.done;
  // The server drops the upload the kill cut short; wait until it has, so nothing appears later.
  for (let i = 0; i < 400 && (await uploadsInProgress(s.repoDir)) > 0; i++) await sleep(25);
  assert.equal(await uploadsInProgress(s.repoDir), 0, 'the server cleaned up the cut upload');
  const atKill = await storedPacks(s.repoDir);
  assert.ok(atKill.size < FILES * FILE_SIZE / PACK_SIZE, `killed with ${atKill.size} packs stored`);
  assert.deepEqual(await readdir(join(s.repoDir, 'snapshots')), [], 'no snapshot without a finished backup');

  await rerunAndMeasure(t, s, atKill, 1, (await s.server.requests(1)).length);
});
