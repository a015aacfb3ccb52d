// restic 0.14 as the client of a holdfast server: the whole life of a repository over REST, then
// restic on the server's data directory itself, and the key-less audit of what restic wrote.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { auditClient } from '../../src/server/audit.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { expectOk, makeTree, resticRunner, startServer, treeDigest } from './harness.js';

test('restic: init, backup, snapshots, check --read-data, restore, forget --prune, unlock, key add', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const s = await startServer(t);
  const { repo, secret } = await s.addClient('laptop');
  const restic = await resticRunner(t);
  const work = await tempDir(t);
  const src = join(work, 'src');
  await makeTree(src, 'restic-life', 20, 6 * 1024 * 1024);

  expectOk(await restic(['-r', repo, 'init']), 'init');
  const first = expectOk(await restic(['-r', repo, 'backup', src]), 'first backup');
  assert.doesNotMatch(first.stdout + first.stderr, new RegExp(secret), 'restic never shows the secret');
  await writeFile(join(src, 'd0', 'added.txt'), 'a file added between backups\n');
  expectOk(await restic(['-r', repo, 'backup', src]), 'second backup');

  const snaps = JSON.parse(expectOk(await restic(['-r', repo, 'snapshots', '--json']), 'snapshots').stdout) as { id: string }[];
  assert.equal(snaps.length, 2);
  assert.match(expectOk(await restic(['-r', repo, 'check', '--read-data']), 'check').stdout, /no errors were found/);

  const dst = join(work, 'dst');
  expectOk(await restic(['-r', repo, 'restore', 'latest', '--target', dst]), 'restore');
  // restic 0.14 restores an absolute backup path below the target.
  assert.deepEqual(await treeDigest(join(dst, src)), await treeDigest(src), 'the restore is byte-identical');

  expectOk(await restic(['-r', repo, 'forget', '--keep-last', '1', '--prune']), 'forget --prune');
  const left = JSON.parse(expectOk(await restic(['-r', repo, 'snapshots', '--json']), 'snapshots').stdout) as { id: string }[];
  assert.equal(left.length, 1);
  expectOk(await restic(['-r', repo, 'unlock']), 'unlock');
  const pw2 = join(work, 'second-password');
  await writeFile(pw2, 'another password\n');
  expectOk(await restic(['-r', repo, 'key', 'add', '--new-password-file', pw2]), 'key add');
  const keys = JSON.parse(expectOk(await restic(['-r', repo, 'key', 'list', '--json']), 'key list').stdout) as unknown[];
  assert.equal(keys.length, 2);
  assert.match(expectOk(await restic(['-r', repo, 'check', '--read-data']), 'check after prune').stdout, /no errors were found/);

  // The server's storage is a plain local repository: restic can check it without the server.
  assert.match(expectOk(await restic(['-r', s.repoDir('laptop'), 'check', '--read-data']), 'check on disk').stdout, /no errors were found/);

  const audit = await auditClient(s.data, 'laptop', { reverifyAfterMs: 0 });
  assert.deepEqual(audit.problems, []);
  assert.ok(audit.filesChecked >= 5);
});
