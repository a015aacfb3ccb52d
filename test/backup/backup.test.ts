// The backup command on a real local repository: the parent file map (only new and changed files
// are read, deletions counted), excludes, missing and unreadable sources, dry runs and stdin.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { holdfast, ok, run } from '../helpers/cli.js';
import { summaryOf } from '../helpers/backup-json.js';
import { tempDir } from '../helpers/tmp.js';
import { requireRoot, requireTools } from '../helpers/tools.js';

async function setup(t: TestContext): Promise<{ repo: string; src: string }> {
  const dir = await tempDir(t);
  const repo = join(dir, 'repo');
  const src = join(dir, 'src');
  await mkdir(join(src, 'a', 'b'), { recursive: true });
  await mkdir(join(src, 'gone'));
  await writeFile(join(src, 'a', 'one.txt'), 'one\n');
  await writeFile(join(src, 'a', 'b', 'two.bin'), randomBytes(200_000));
  await writeFile(join(src, 'big.bin'), randomBytes(3 * 1024 * 1024));
  await writeFile(join(src, 'gone', 'x'), 'x');
  await writeFile(join(src, 'gone', 'y'), 'y');
  await ok(holdfast(['-r', repo, 'init']));
  return { repo, src };
}

test('a second backup reads only new and changed files and counts deletions', async (t) => {
  const { repo, src } = await setup(t);
  const first = summaryOf(await ok(holdfast(['-r', repo, '--json', 'backup', src])));
  assert.equal(first.files_new, 5);
  assert.equal(first.bytes_read, 4 + 200_000 + 3 * 1024 * 1024 + 2);
  assert.equal(first.parent, undefined);

  await appendFile(join(src, 'a', 'one.txt'), 'more\n');
  await writeFile(join(src, 'a', 'new.txt'), 'new file\n');
  await rm(join(src, 'gone'), { recursive: true });
  const second = summaryOf(await ok(holdfast(['-r', repo, '--json', 'backup', src])));
  assert.equal(second.parent, first.snapshot_id);
  assert.deepEqual(
    [second.files_new, second.files_changed, second.files_unmodified, second.files_deleted, second.dirs_deleted],
    [1, 1, 2, 2, 1],
  );
  assert.equal(second.bytes_read, 9 + 9, 'only the changed and the new file are read');
  assert.equal(second.data_blobs, 2);

  const forced = summaryOf(await ok(holdfast(['-r', repo, '--json', 'backup', '--force', src])));
  assert.equal(forced.bytes_read, 9 + 9 + 200_000 + 3 * 1024 * 1024, '--force reads everything again');
  assert.equal(forced.data_blobs, 0, 'but stores nothing new');
});

test('excluded files are left out and recorded in the snapshot', async (t) => {
  const { repo, src } = await setup(t);
  const s = summaryOf(await ok(holdfast(['-r', repo, '--json', 'backup', '--exclude', '*.bin', '--exclude', 'gone', src])));
  assert.equal(s.files_new, 1);
  const snapshots = JSON.parse((await ok(holdfast(['-r', repo, '--json', 'snapshots']))).stdout);
  assert.deepEqual(snapshots[0].excludes, ['*.bin', 'gone']);
});

test('a missing source is a warning (exit 3) unless every source is missing (exit 1)', async (t) => {
  const { repo, src } = await setup(t);
  const some = await holdfast(['-r', repo, 'backup', src, join(src, 'nope')]);
  assert.equal(some.code, 3, some.stderr);
  assert.match(some.stderr, /nope/);
  assert.match(some.stdout, /snapshot [0-9a-f]{8} saved/);
  const none = await holdfast(['-r', repo, 'backup', join(src, 'nope')]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^holdfast: nothing to back up: .*nope does not exist$/m);
});

test('an unreadable file and directory are warnings; the snapshot is made and the exit code is 3', async (t) => {
  if (!requireRoot(t) || !requireTools(t, 'setpriv')) return;
  const { repo, src } = await setup(t);
  await writeFile(join(src, 'secret'), 'no');
  await chmod(join(src, 'secret'), 0o000);
  await mkdir(join(src, 'closed'));
  await writeFile(join(src, 'closed', 'inside'), 'x');
  await chmod(join(src, 'closed'), 0o000);
  // Root reads everything, so the backup runs as an ordinary user who owns the repository.
  const dir = join(src, '..');
  await chmod(dir, 0o755);
  await ok(run('chown', ['-R', '65534:65534', repo]));
  const cache = join(dir, 'cache');
  await mkdir(cache);
  await ok(run('chown', ['65534:65534', cache]));
  // Twice: what could not be read is never in the local cache, so the second run finds it again.
  for (const attempt of ['first', 'second']) {
    const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...process.execArgv, mainScript(), '-r', repo, '--json', 'backup', src], {
      env: { HOME: '/tmp', HOLDFAST_CACHE_DIR: cache },
    });
    assert.equal(r.code, 3, `${attempt} run: ${r.stderr}`);
    assert.match(r.stderr, /secret/);
    assert.match(r.stderr, /closed/);
    const s = summaryOf(r);
    assert.ok(s.snapshot_id);
    assert.equal(s.errors, 2);
    if (attempt === 'second') assert.ok(s.dirs_reused > 0, 'the directories that were read are reused');
  }
});

function mainScript(): string {
  return new URL(import.meta.url.endsWith('.ts') ? '../../src/cli/main.ts' : '../../src/cli/main.js', import.meta.url).pathname;
}

test('--dry-run reads and counts but stores nothing', async (t) => {
  const { repo, src } = await setup(t);
  const s = summaryOf(await ok(holdfast(['-r', repo, '--json', 'backup', '--dry-run', src])));
  assert.equal(s.files_new, 5);
  assert.ok(s.data_added > 3 * 1024 * 1024);
  assert.equal(s.snapshot_id, undefined);
  for (const type of ['data', 'index', 'snapshots']) {
    const entries = await readdir(join(repo, type), { recursive: true });
    assert.deepEqual(entries.filter((e) => /^[0-9a-f]{64}$/.test(e.split('/').at(-1)!)), [], `${type} stays empty`);
  }
});

test('--stdin stores standard input as one file that restores byte for byte', async (t) => {
  const { repo } = await setup(t);
  const data = randomBytes(2_000_000);
  const s = summaryOf(await ok(holdfast(['-r', repo, '--json', 'backup', '--stdin', '--stdin-filename', 'db.dump'], { input: data })));
  assert.equal(s.files_new, 1);
  const dumped = await ok(holdfast(['-r', repo, 'dump', 'latest', '/db.dump']));
  assert.ok(dumped.stdoutBytes.equals(data));
});

test('the default repository is created on first use with a one-line note', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await mkdir(src);
  await writeFile(join(src, 'f'), 'hello');
  const env = { XDG_DATA_HOME: join(dir, 'xdg'), HOLDFAST_REPOSITORY: undefined, RESTIC_REPOSITORY: undefined };
  const r = await ok(holdfast(['backup', src], { env }));
  assert.match(r.stdout, new RegExp(`^creating the default repository at ${join(dir, 'xdg', 'holdfast', 'repository')}$`, 'm'));
  const again = await ok(holdfast(['backup', src], { env }));
  assert.doesNotMatch(again.stdout, /creating/);
  assert.match((await ok(holdfast(['snapshots'], { env }))).stdout, /2 snapshots/);
});
