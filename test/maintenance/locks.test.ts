// Locks between restic 0.14 and holdfast: a backup's shared lock keeps the other tool's prune out
// (holdfast exits 11 with a clear line) but not its backups; unlock removes stale locks, --remove-all all.

import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LocalBackend } from '../../src/backend/local.js';
import { goTimeFromDate } from '../../src/format/go-json.js';
import { encodeLock } from '../../src/format/lock.js';
import { openRepository } from '../../src/repository/keys.js';
import { holdfast, ok, restic, testEnv } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';

const main = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../src/cli/main.ts' : '../../src/cli/main.js', import.meta.url));

/** The lock files; not a lock being written (a dot-named temp file until it is linked in place). */
async function locks(repo: string): Promise<string[]> {
  return (await readdir(join(repo, 'locks'))).filter((name) => !name.startsWith('.')).sort();
}

/**
 * A backup from stdin that holds its (shared) lock until its input ends. Killed when the test
 * ends: a test that fails before ending its input must not leave it running (and waiting).
 */
async function holdLock(t: TestContext, repo: string, by: 'restic' | 'holdfast'): Promise<{ child: ChildProcessWithoutNullStreams; done: Promise<number | null> }> {
  const child =
    by === 'restic'
      ? spawn('restic', ['--no-cache', '-r', repo, 'backup', '--stdin'], { env: { ...process.env, ...testEnv } })
      : spawn(process.execPath, [...(import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : []), main, '-r', repo, 'backup', '--stdin'], { env: { ...process.env, ...testEnv } });
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  child.stdout.resume();
  child.stderr.resume();
  child.stdin.write('some input\n');
  for (let i = 0; i < 600 && (await locks(repo)).length === 0; i++) await sleep(50);
  assert.equal((await locks(repo)).length, 1, `${by} holds a lock`);
  return { child, done };
}

test('a restic backup in progress keeps holdfast prune out (exit 11) but not a holdfast backup; unlock leaves its live lock', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const repo = join(dir, 'repo');
  await ok(restic(['-r', repo, 'init']));
  const held = await holdLock(t, repo, 'restic');
  try {
    const prune = await holdfast(['-r', repo, 'prune']);
    assert.equal(prune.code, 11);
    assert.match(prune.stderr, /^holdfast: repository is already locked non-exclusively by PID \d+ on .* \(lock [0-9a-f]{8}\); if that process is gone, run "holdfast unlock"\n$/);
    await ok(holdfast(['-r', repo, 'backup', '--stdin', '--stdin-filename', 'other'], { input: 'concurrent\n' }));
    await ok(holdfast(['-r', repo, 'unlock']));
    assert.equal((await locks(repo)).length, 1, 'a live lock is not stale');
  } finally {
    held.child.stdin.end();
    assert.equal(await held.done, 0);
  }
  await ok(holdfast(['-r', repo, 'prune']));
  await ok(restic(['-r', repo, 'check']));
});

test('a holdfast backup in progress keeps restic prune out but not a restic backup', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const repo = join(dir, 'repo');
  await ok(holdfast(['-r', repo, 'init']));
  const held = await holdLock(t, repo, 'holdfast');
  try {
    const prune = await restic(['-r', repo, 'prune']);
    assert.notEqual(prune.code, 0);
    assert.match(prune.stderr, /repository is already locked/);
    const ours = await holdfast(['-r', repo, 'prune']);
    assert.equal(ours.code, 11, 'holdfast prune is kept out by holdfast backup too');
    await ok(restic(['-r', repo, 'backup', '--stdin', '--stdin-filename', 'other'], { input: 'concurrent\n' }));
  } finally {
    held.child.stdin.end();
    assert.equal(await held.done, 0);
  }
  await ok(restic(['-r', repo, 'prune']));
  assert.deepEqual(await locks(repo), []);
});

test('unlock removes stale locks (dead process here, or not refreshed for 30 minutes) and --remove-all every lock', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const repoPath = join(dir, 'repo');
  await ok(holdfast(['-r', repoPath, 'init']));
  const repo = await openRepository(new LocalBackend(repoPath), testEnv.HOLDFAST_PASSWORD);
  const now = Date.now();
  const lock = (host: string, pid: number, ageMs: number, exclusive = false) =>
    repo.saveUnpacked('locks', encodeLock({ time: goTimeFromDate(new Date(now - ageMs)), exclusive, hostname: host, username: 'u', pid }));
  let live: string[];
  try {
    // A pid above the kernel's limit cannot be running.
    await lock(hostname(), 4_194_305, 1000, true);
    await lock('elsewhere', 1234, 31 * 60 * 1000);
    live = [await lock('elsewhere', 1234, 1000), await lock(hostname(), process.pid, 1000)].sort();
  } finally {
    await repo.close();
  }
  assert.notEqual((await restic(['-r', repoPath, 'check'])).code, 0, 'restic 0.14 is blocked by the stale exclusive lock');

  const r = await ok(holdfast(['-r', repoPath, 'unlock', '-v']));
  assert.match(r.stdout, /successfully removed locks/);
  assert.deepEqual(await locks(repoPath), live, 'the stale locks are gone, the live ones stay');
  const restics = (await ok(restic(['-r', repoPath, '--no-lock', 'list', 'locks']))).stdout.trim().split('\n').sort();
  assert.deepEqual(restics, live);

  await ok(holdfast(['-r', repoPath, 'unlock', '--remove-all']));
  assert.deepEqual(await locks(repoPath), []);
  await ok(restic(['-r', repoPath, 'check']));
});
