// Bad input to the foundation commands: each case ends with one clear line, the right exit code,
// and a repository left exactly as it was.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { initRepository } from '../../src/repository/keys.js';
import { holdfast, type RunResult } from '../helpers/cli.js';
import { dirDigest } from '../helpers/dir-digest.js';
import { tempDir } from '../helpers/tmp.js';

/** A repository with two data packs, a tree pack and an index. */
async function repoWithPacks(t: TestContext): Promise<{ repo: string; packs: string[] }> {
  const repo = join(await tempDir(t), 'repo');
  const r = await initRepository(new LocalBackend(repo), 'test-password', { kdf: { N: 1024, r: 8, p: 1 }, packSize: 64 * 1024 });
  for (let i = 0; i < 3; i++) await r.saveBlob('data', randomBytes(40_000));
  await r.saveBlob('tree', Buffer.from('{"nodes":[]}\n'));
  await r.flush();
  await r.close();
  const packs: string[] = [];
  for (const sub of await readdir(join(repo, 'data'))) for (const f of await readdir(join(repo, 'data', sub))) packs.push(join(repo, 'data', sub, f));
  return { repo, packs };
}

function assertOneLine(r: RunResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  const errorLines = r.stderr.trim().split('\n').filter((l) => l.length > 0);
  assert.ok(errorLines.some((l) => pattern.test(l)), `expected ${pattern} in: ${r.stderr}`);
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
}

async function unchangedAfter(repo: string, fn: () => Promise<void>): Promise<void> {
  const before = await dirDigest(repo);
  await fn();
  assert.equal(await dirDigest(repo), before, 'the repository was modified');
}

test('a wrong password exits 12 with one line', async (t) => {
  const { repo } = await repoWithPacks(t);
  await unchangedAfter(repo, async () => {
    assertOneLine(await holdfast(['-r', repo, 'list', 'snapshots'], { env: { HOLDFAST_PASSWORD: 'nope' } }), 12, /^holdfast: wrong password or no key found$/);
  });
});

test('a repository path that does not exist exits 10 and creates nothing', async (t) => {
  const dir = await tempDir(t);
  await unchangedAfter(dir, async () => {
    assertOneLine(await holdfast(['-r', join(dir, 'missing'), 'check']), 10, /no repository at .*missing/);
  });
});

test('a repository whose config is missing exits 10', async (t) => {
  const { repo } = await repoWithPacks(t);
  await unlink(join(repo, 'config'));
  await unchangedAfter(repo, async () => {
    assertOneLine(await holdfast(['-r', repo, 'list', 'snapshots']), 10, /no repository at/);
  });
});

test('a key file with broken JSON is named', async (t) => {
  const { repo } = await repoWithPacks(t);
  const [key] = await readdir(join(repo, 'keys'));
  await writeFile(join(repo, 'keys', key!), '{"kdf":"scrypt","N":');
  await unchangedAfter(repo, async () => {
    assertOneLine(await holdfast(['-r', repo, 'list', 'snapshots']), 1, new RegExp(`keys/${key!.slice(0, 8)}: key file is not valid JSON`));
  });
});

test('check names a truncated pack', async (t) => {
  const { repo, packs } = await repoWithPacks(t);
  await truncate(packs[0]!, 1000);
  const name = packs[0]!.split('/').at(-1)!;
  await unchangedAfter(repo, async () => {
    const r = await holdfast(['-r', repo, 'check', '--no-lock']);
    assertOneLine(r, 1, new RegExp(`pack ${name}: unexpected file size`));
  });
});

test('check names a pack whose header length is absurd', async (t) => {
  const { repo, packs } = await repoWithPacks(t);
  const bytes = await readFile(packs[1]!);
  bytes.writeUInt32LE(0xfffffff0, bytes.length - 4);
  await writeFile(packs[1]!, bytes);
  const name = packs[1]!.split('/').at(-1)!;
  await unchangedAfter(repo, async () => {
    assertOneLine(await holdfast(['-r', repo, 'check', '--no-lock']), 1, new RegExp(`pack ${name}: pack header length 4294967280 is invalid`));
  });
});

test('check names a pack that an index lists but that does not exist', async (t) => {
  const { repo, packs } = await repoWithPacks(t);
  await unlink(packs[2]!);
  const name = packs[2]!.split('/').at(-1)!;
  await unchangedAfter(repo, async () => {
    assertOneLine(await holdfast(['-r', repo, 'check', '--no-lock']), 1, new RegExp(`pack ${name} does not exist`));
  });
});

test('cat of an object that does not exist is one line', async (t) => {
  const { repo } = await repoWithPacks(t);
  assertOneLine(await holdfast(['-r', repo, 'cat', 'snapshot', 'abcdef']), 1, /no snapshots file matches "abcdef"/);
  assertOneLine(await holdfast(['-r', repo, 'cat', 'nonsense']), 1, /cannot cat "nonsense"/);
});
