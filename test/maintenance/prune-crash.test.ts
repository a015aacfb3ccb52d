// A prune killed at every point of its sequence (HOLDFAST_TEST_CRASH_AT) and at random moments leaves
// a repository restic check finds clean once the lock is cleared, and the next prune finishes the job.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { holdfast, ok, testEnv } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { assertResticCheck, assertRestores, buildHistory, type History, snapshotIds } from './history.js';

const points = [
  'after-unreferenced-deleted',
  'during-repack',
  'after-repack',
  'after-new-index',
  'during-index-delete',
  'after-index-delete',
  'during-pack-delete',
] as const;

const PRUNE = ['prune', '--max-unused', '0'];

/**
 * A history with something for every step of a prune: forgotten snapshots (packs to delete and
 * to repack, --max-unused 0 repacks all of them) and a pack no index describes.
 */
async function crashFixture(dir: string): Promise<History> {
  const h = await buildHistory(dir, 31, 5);
  // A snapshot of its own, forgotten below: its packs hold nothing anything else uses.
  const lonely = join(dir, 'lonely');
  await mkdir(lonely);
  await writeFile(join(lonely, 'big'), randomBytes(3 * 1024 * 1024));
  await ok(holdfast(['-r', h.repo, 'backup', lonely]));
  const all = await snapshotIds(h.repo);
  const lonelyId = all.find((id) => !h.snapshots.has(id))!;
  await ok(holdfast(['-r', h.repo, 'forget', lonelyId, h.order[0]!, h.order[2]!]));
  // Bytes in data/ under their own hash, as a pack whose index was never written looks.
  const orphan = randomBytes(50_000);
  const name = createHash('sha256').update(orphan).digest('hex');
  await mkdir(join(h.repo, 'data', name.slice(0, 2)), { recursive: true });
  await writeFile(join(h.repo, 'data', name.slice(0, 2), name), orphan);
  return h;
}

async function assertFinished(h: History, repo: string, kept: readonly string[], target: string): Promise<void> {
  await ok(holdfast(['-r', repo, ...PRUNE]));
  await assertResticCheck(repo);
  assert.deepEqual(await snapshotIds(repo), kept);
  await assertRestores(h, kept, target, repo);
  const again = await ok(holdfast(['-r', repo, 'prune', '--dry-run', '-v', '--max-unused', '0']));
  assert.match(again.stdout, /to delete: +0 blobs \/ 0 B/, 'nothing left to delete');
  assert.match(again.stdout, /this removes: +0 blobs \/ 0 B/, 'nothing left to repack');
  assert.doesNotMatch(again.stdout, /unreferenced/);
}

async function clearLock(repo: string): Promise<void> {
  assert.equal((await readdir(join(repo, 'locks'))).length, 1, 'the killed prune left its lock');
  await ok(holdfast(['-r', repo, 'unlock']));
  assert.deepEqual(await readdir(join(repo, 'locks')), [], 'unlock removes the lock of the dead process');
}

test('a prune killed at each point of its sequence leaves a clean repository, and the next prune finishes', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const h = await crashFixture(join(dir, 'base'));
  const kept = await snapshotIds(h.repo);
  const plan = await ok(holdfast(['-r', h.repo, ...PRUNE, '--dry-run', '-v']));
  assert.match(plan.stdout, /to delete: +[1-9]\d* unreferenced packs/);
  assert.match(plan.stdout, /to repack: +[1-9]\d* packs/);
  assert.match(plan.stdout, /to delete: +[1-9]\d* packs/);

  for (const point of points) {
    await t.test(point, async () => {
      const repo = join(dir, point);
      await cp(h.repo, repo, { recursive: true });
      const killed = await holdfast(['-r', repo, ...PRUNE], { env: { HOLDFAST_TEST_CRASH_AT: point } });
      assert.equal(killed.code, 128, `prune was killed at ${point}: ${killed.stderr}`);
      await clearLock(repo);
      await assertResticCheck(repo);
      assert.deepEqual(await snapshotIds(repo), kept, 'no snapshot lost');
      await assertFinished(h, repo, kept, join(dir, 'restore'));
    });
  }
});

const main = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../src/cli/main.ts' : '../../src/cli/main.js', import.meta.url));

test('a prune killed by SIGKILL at random moments leaves a clean repository', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const h = await crashFixture(join(dir, 'base'));
  const kept = await snapshotIds(h.repo);
  for (const delayMs of [300, 700, 1200]) {
    const repo = join(dir, `kill-${delayMs}`);
    await cp(h.repo, repo, { recursive: true });
    const args = [...(import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : []), main, '-r', repo, ...PRUNE];
    const child = spawn(process.execPath, args, { env: { ...process.env, ...testEnv }, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await sleep(delayMs);
    child.kill('SIGKILL');
    const code = await exited;
    t.diagnostic(`killed after ${delayMs} ms: ${code === null ? 'while running' : `had already exited (${code})`}`);
    if (code === null) await ok(holdfast(['-r', repo, 'unlock']));
    await assertResticCheck(repo);
    assert.deepEqual(await snapshotIds(repo), kept);
    await assertFinished(h, repo, kept, join(dir, 'restore'));
  }
});
