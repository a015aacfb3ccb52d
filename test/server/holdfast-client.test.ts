// holdfast as the client of a holdfast server on 127.0.0.1: the URL `server client add` prints, then
// backup (which creates the repository), snapshots, check --read-data, restore, forget and prune, append-only, secrets kept out of output.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { testEnv } from '../helpers/cli.js';
import { compareTrees } from '../helpers/compare-trees.js';
import { makeFixtureTree } from '../helpers/fixture-tree.js';
import { ServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { cliCommand, expectOk, run, type RunResult } from './harness.js';

/** holdfast with the test password and cheap key derivation; the test's end kills it. */
function holdfastRunner(t: TestContext, env: NodeJS.ProcessEnv = {}) {
  const { cmd, args } = cliCommand();
  const outputs: string[] = [];
  const runHoldfast = async (more: readonly string[]) => {
    const r = await run(t, cmd, [...args, ...more], { ...testEnv, ...env });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  return { holdfast: runHoldfast, outputs };
}

function snapshotsOf(r: RunResult): { id: string; parent?: string }[] {
  return JSON.parse(expectOk(r, 'snapshots').stdout) as { id: string; parent?: string }[];
}

/** The one line a failed command printed; a failure that needs more than one line is not clear. */
function oneLineError(r: RunResult): string {
  assert.notEqual(r.code, 0, 'the command failed');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  return lines[0]!;
}

test('holdfast client: server client add, backup (creating the repository), snapshots, check --read-data, restore, forget, prune', async (t) => {
  if (!requireTools(t, 'restic', 'python3')) return;
  const server = await ServerProcess.start(t);
  const { holdfast } = holdfastRunner(t);

  // The README's way: the URL that `client add` prints is the repository to use.
  const added = JSON.parse(expectOk(await holdfast(['server', 'client', 'add', 'laptop', '--data', server.root, '--json']), 'client add').stdout) as {
    repository: string;
    secret: string;
  };
  await server.reload();
  const repo = added.repository;
  assert.equal(repo, `rest:http://laptop:${added.secret}@127.0.0.1:${server.port}/laptop/`);

  const work = await tempDir(t);
  const src = join(work, 'src');
  await makeFixtureTree(src, { large: false, seed: 7 });
  // Several packs of 4 MiB, so restores and checks read across packs.
  await writeFile(join(src, 'random.bin'), randomBytes(10 * 1024 * 1024));

  // No init: the first backup creates the client's repository on the server, and says so.
  const first = expectOk(await holdfast(['-r', repo, '--pack-size', '4', 'backup', src]), 'first backup');
  assert.match(first.stdout + first.stderr, new RegExp(`creating the repository at rest:http://laptop:\\*\\*\\*@127\\.0\\.0\\.1:${server.port}/laptop/`));
  await appendFile(join(src, 'hello.txt'), 'changed between the backups\n');
  expectOk(await holdfast(['-r', repo, '--pack-size', '4', 'backup', src]), 'second backup');

  const snaps = snapshotsOf(await holdfast(['-r', repo, 'snapshots', '--json']));
  assert.equal(snaps.length, 2);
  assert.equal(snaps[1]!.parent, snaps[0]!.id, 'the second backup found the first as its parent');
  assert.match(expectOk(await holdfast(['-r', repo, 'check', '--read-data']), 'check').stdout, /no errors were found/);
  // restic agrees, over the same server.
  const resticCache = join(work, 'restic-cache');
  const restic = await run(t, 'restic', ['-r', repo, '--cache-dir', resticCache, 'check', '--read-data'], testEnv);
  assert.match(expectOk(restic, 'restic check').stdout, /no errors were found/);

  const dst = join(work, 'dst');
  expectOk(await holdfast(['-r', repo, 'restore', 'latest', '--target', dst]), 'restore');
  assert.deepEqual(await compareTrees(src, join(dst, src)), [], 'the restore is identical to the source');

  expectOk(await holdfast(['-r', repo, 'forget', '--keep-last', '1']), 'forget');
  assert.deepEqual(
    snapshotsOf(await holdfast(['-r', repo, 'snapshots', '--json'])).map((s) => s.id),
    [snaps[1]!.id],
  );
  const packsBefore = await packsOf(server.repoDir('laptop'));
  expectOk(await holdfast(['-r', repo, 'prune', '--max-unused', '0']), 'prune');
  const packsAfter = new Set(await packsOf(server.repoDir('laptop')));
  assert.ok(packsBefore.some((p) => !packsAfter.has(p)), 'prune removed or repacked the packs holding what only the forgotten snapshot used');
  assert.match(expectOk(await holdfast(['-r', repo, 'check', '--read-data']), 'check after forget').stdout, /no errors were found/);
});

test("no holdfast command shows the client's secret, whether it succeeds or fails", async (t) => {
  const server = await ServerProcess.start(t);
  const { repo, secret } = await server.addClient('laptop');
  const { holdfast, outputs } = holdfastRunner(t);
  const src = join(await tempDir(t), 'src');
  await makeSmallTree(src);
  expectOk(await holdfast(['-r', repo, 'init']), 'init');
  expectOk(await holdfast(['-r', repo, 'backup', '-v', src]), 'backup');
  expectOk(await holdfast(['-r', repo, 'snapshots']), 'snapshots');
  expectOk(await holdfast(['-r', repo, 'check']), 'check');
  assert.notEqual((await holdfast(['-r', repo, 'init'])).code, 0, 'a second init fails');
  const wrongPassword = await holdfastRunner(t, { HOLDFAST_PASSWORD: 'wrong' }).holdfast(['-r', repo, 'snapshots']);
  assert.notEqual(wrongPassword.code, 0, 'a wrong password fails');
  outputs.push(wrongPassword.stdout, wrongPassword.stderr);
  assert.notEqual((await holdfast(['-r', repo.replace('://laptop:', '://other:'), 'snapshots'])).code, 0, 'another client name fails');
  for (const o of outputs) assert.ok(!o.includes(secret), `the output shows the secret:\n${o}`);
});

test('append-only: holdfast backs up and checks; forget, prune and key remove fail with one clear line and leave the repository sound', async (t) => {
  const server = await ServerProcess.start(t);
  const { repo } = await server.addClient('kiosk', { appendOnly: true });
  const { holdfast } = holdfastRunner(t);
  const work = await tempDir(t);
  const src = join(work, 'src');
  await makeSmallTree(src);
  const checksClean = async (what: string) => assert.match(expectOk(await holdfast(['-r', repo, 'check', '--read-data']), what).stdout, /no errors were found/);

  expectOk(await holdfast(['-r', repo, 'init']), 'init');
  expectOk(await holdfast(['-r', repo, 'backup', src]), 'first backup');
  // Only the first snapshot has this file: once that snapshot is forgotten, prune has packs to delete.
  await rm(join(src, 'sub', 'random.bin'));
  await writeFile(join(src, 'b.txt'), 'second\n');
  expectOk(await holdfast(['-r', repo, 'backup', src]), 'second backup');
  assert.equal(snapshotsOf(await holdfast(['-r', repo, 'snapshots', '--json'])).length, 2);

  const forget = oneLineError(await holdfast(['-r', repo, 'forget', '--keep-last', '1']));
  assert.match(forget, /append-only/);
  assert.match(forget, /403/);
  assert.equal(snapshotsOf(await holdfast(['-r', repo, 'snapshots', '--json'])).length, 2, 'forget removed nothing');

  const second = join(work, 'second-password');
  await writeFile(second, 'another password\n');
  const added = JSON.parse(expectOk(await holdfast(['-r', repo, '--json', 'key', 'add', '--new-password-file', second]), 'key add').stdout) as { id: string };
  assert.match(oneLineError(await holdfast(['-r', repo, 'key', 'remove', added.id])), /append-only/);
  const keys = JSON.parse(expectOk(await holdfast(['-r', repo, 'key', 'list', '--json']), 'key list').stdout) as unknown[];
  assert.equal(keys.length, 2, 'key remove removed nothing');
  await checksClean('check after the refused deletes');

  // The maintenance window of docs/server.md: forget with the flag lifted, prune refused once it is back.
  await server.setClient('kiosk', { appendOnly: false });
  expectOk(await holdfast(['-r', repo, 'forget', '--keep-last', '1']), 'forget without append-only');
  await server.setClient('kiosk', { appendOnly: true });
  assert.match(oneLineError(await holdfast(['-r', repo, 'prune', '--max-unused', '0'])), /append-only/);
  await checksClean('check after the refused prune');
  await server.setClient('kiosk', { appendOnly: false });
  expectOk(await holdfast(['-r', repo, 'prune', '--max-unused', '0']), 'prune without append-only');
  await checksClean('check after prune');

  // Lock files may always be deleted: every command above released its lock.
  const locks = (await server.requests()).filter((r) => r.method === 'DELETE' && r.kind === 'locks');
  assert.ok(locks.length > 0 && locks.every((r) => r.status === 200), 'locks were removed');
});

async function packsOf(repoDir: string): Promise<string[]> {
  const packs: string[] = [];
  for (const sub of await readdir(join(repoDir, 'data'))) packs.push(...(await readdir(join(repoDir, 'data', sub))).filter((f) => /^[0-9a-f]{64}$/.test(f)));
  return packs;
}

async function makeSmallTree(dir: string): Promise<void> {
  await mkdir(join(dir, 'sub'), { recursive: true });
  await writeFile(join(dir, 'a.txt'), 'first\n');
  await writeFile(join(dir, 'sub', 'random.bin'), randomBytes(300_000));
}
