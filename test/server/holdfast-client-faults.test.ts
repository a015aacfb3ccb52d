// holdfast as a client when the network or the quota gets in the way: cut uploads are retried and
// the backup completes; a 507 stops it with one clear line and the next run still works.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { testEnv } from '../helpers/cli.js';
import { ServerProcess } from '../helpers/server-process.js';
import { startProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { cliCommand, expectOk, run, treeDigest } from './harness.js';

const MiB = 1024 * 1024;

function holdfast(t: TestContext, args: readonly string[]) {
  const { cmd, args: node } = cliCommand();
  return run(t, cmd, [...node, ...args], testEnv);
}

async function randomTree(dir: string, files: number, size: number): Promise<void> {
  await mkdir(join(dir, 'sub'), { recursive: true });
  for (let i = 0; i < files; i++) await writeFile(join(dir, i % 2 ? 'sub' : '', `f${i}`), randomBytes(size));
}

async function restoresIdentically(t: TestContext, repo: string, src: string, work: string): Promise<void> {
  const dst = join(work, 'dst');
  expectOk(await holdfast(t, ['-r', repo, 'restore', 'latest', '--target', dst]), 'restore');
  assert.deepEqual(await treeDigest(join(dst, src)), await treeDigest(src));
}

test('connections cut mid-upload are retried: the backup completes and checks clean', async (t) => {
  const server = await ServerProcess.start(t);
  const { repo: direct } = await server.addClient('laptop');
  // Cut twice inside pack uploads: at 3 MiB and 11 MiB of everything the client sends.
  const proxy = await startProxy(t, server.port, { cutAt: [3 * MiB, 11 * MiB] });
  const repo = direct.replace(`:${server.port}/`, `:${proxy.port}/`);
  const work = await tempDir(t);
  const src = join(work, 'src');
  await randomTree(src, 8, 2 * MiB);

  expectOk(await holdfast(t, ['-r', repo, 'init']), 'init');
  expectOk(await holdfast(t, ['-r', repo, '--pack-size', '4', 'backup', src]), 'backup through the cutting proxy');
  assert.equal(proxy.cuts, 2, 'both cuts happened');
  const broken = (await server.requests()).filter((r) => r.method === 'POST' && r.kind === 'data' && r.status !== 200);
  assert.ok(broken.length >= 1, 'the server saw uploads that did not complete');
  assert.match(expectOk(await holdfast(t, ['-r', repo, 'check', '--read-data']), 'check').stdout, /no errors were found/);
  await restoresIdentically(t, repo, src, work);
});

test('507 from the quota: one clear line, a repository that checks, and the next run works once the quota is raised', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const server = await ServerProcess.start(t);
  // Room for a pack or two of the 16 MiB backup, so the 507 comes mid-run.
  const { repo } = await server.addClient('small', { quota: 10 * MiB });
  const work = await tempDir(t);
  const src = join(work, 'src');
  await randomTree(src, 8, 2 * MiB);

  expectOk(await holdfast(t, ['-r', repo, 'init']), 'init');
  const over = await holdfast(t, ['-r', repo, '--pack-size', '4', 'backup', src]);
  assert.notEqual(over.code, 0);
  const lines = over.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${over.stderr}`);
  // What the client holds depends on whether the upload beside the refused one had finished.
  assert.match(lines[0]!, /^holdfast: cannot store data\/[0-9a-f]{64}: rest:http:\/\/small:\*\*\*@127\.0\.0\.1:\d+\/small\/ answered 507: quota exceeded: client "small" may store 10\.0 MiB and holds [\d.]+ (B|KiB|MiB); data\/[0-9a-f]{64} does not fit and was not stored$/);
  const stored = (await server.requests()).filter((r) => r.method === 'POST' && r.kind === 'data' && r.status === 200);
  assert.ok(stored.length >= 1, 'packs were stored before the quota was reached');

  const afterFailure = expectOk(await holdfast(t, ['-r', repo, 'check', '--read-data']), 'check after the failed backup');
  assert.match(afterFailure.stdout, /no errors were found/);
  const restic = await run(t, 'restic', ['-r', server.repoDir('small'), '--no-cache', 'check', '--read-data'], testEnv);
  assert.match(expectOk(restic, 'restic check after the failed backup').stdout, /no errors were found/);

  await server.setClient('small', { quota: 64 * MiB });
  const done = expectOk(await holdfast(t, ['-r', repo, '--pack-size', '4', 'backup', src]), 'backup after raising the quota');
  assert.match(done.stdout, /snapshot [0-9a-f]{8} saved/);
  assert.match(expectOk(await holdfast(t, ['-r', repo, 'check', '--read-data']), 'check').stdout, /no errors were found/);
  await restoresIdentically(t, repo, src, work);
});
