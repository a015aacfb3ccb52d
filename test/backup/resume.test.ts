// A backup killed with SIGKILL halfway resumes: the next run reuses every pack the killed one
// stored (described by an index checkpoint or found unindexed) and uploads only the rest.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { holdfast, ok, restic, testEnv } from '../helpers/cli.js';
import { summaryOf } from '../helpers/backup-json.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';

async function countPacks(repo: string): Promise<number> {
  let n = 0;
  for (const sub of await readdir(join(repo, 'data')).catch(() => [])) {
    if (/^[0-9a-f]{2}$/.test(sub)) n += (await readdir(join(repo, 'data', sub))).filter((f) => /^[0-9a-f]{64}$/.test(f)).length;
  }
  return n;
}

const main = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../src/cli/main.ts' : '../../src/cli/main.js', import.meta.url));

test('a backup killed halfway is resumed without storing again what it had stored', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const repo = join(dir, 'repo');
  const src = join(dir, 'src');
  await mkdir(src);
  const files = 24;
  const fileSize = 4 * 1024 * 1024;
  for (let i = 0; i < files; i++) await writeFile(join(src, `f${String(i).padStart(2, '0')}`), randomBytes(fileSize));
  await ok(holdfast(['-r', repo, 'init']));

  const args = [...(import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : []), main, '-r', repo, '--pack-size', '4', '--compression', 'off', 'backup', '--read-concurrency', '1', '--checkpoint-interval', '200ms', src];
  const child = spawn(process.execPath, args, { env: { ...process.env, ...testEnv }, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // Kill once about half of the data is stored; a run that finished first would prove nothing.
  let stored = 0;
  for (let i = 0; i < 600 && stored < files / 2; i++) {
    await sleep(50);
    stored = await countPacks(repo);
  }
  child.kill('SIGKILL');
  await exited;
  stored = await countPacks(repo);
  assert.ok(stored >= files / 4 && stored < files, `killed with ${stored} of ~${files} packs stored`);
  assert.deepEqual(await readdir(join(repo, 'snapshots')), [], 'no snapshot without a finished backup');

  const resumed = summaryOf(await ok(holdfast(['-r', repo, '--json', '--pack-size', '4', '--compression', 'off', 'backup', src])));
  const total = files * fileSize;
  assert.ok(resumed.data_added_packed < total - (stored - 1) * fileSize, `second run stored ${resumed.data_added_packed} of ${total} bytes after ${stored} packs were stored`);
  assert.match((await ok(restic(['-r', repo, 'check', '--read-data']))).stdout, /no errors were found/);
  assert.deepEqual((await readdir(join(repo, 'data'))).filter((f) => f.endsWith('.tmp')), [], 'the killed run\'s temp pack is cleaned up');
  const restored = join(dir, 'restored');
  await ok(restic(['-r', repo, 'restore', 'latest', '--target', restored]));
  assert.equal((await readdir(join(restored, src))).length, files);
});
