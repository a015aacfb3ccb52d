// Append-only clients: restic can back up, check, unlock and add keys, but forget --prune is refused
// (403) and nothing is lost; lifting the flag on the running server lets prune through.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { setClient } from '../../src/server/accounts.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { basic, expectOk, filesUnder, http, makeTree, resticRunner, sha256, startServer } from './harness.js';

test('append-only over raw HTTP: new objects yes, deletes only of locks, DELETE config 403', async (t) => {
  const s = await startServer(t);
  const { secret } = await s.addClient('kiosk', { appendOnly: true });
  const auth = { authorization: basic('kiosk', secret) };
  const url = (p: string) => `${s.base}/kiosk/${p}`;
  assert.equal((await http(url('?create=true'), { method: 'POST', headers: auth })).status, 200);
  assert.equal((await http(url('config'), { method: 'POST', headers: auth, body: 'cfg' })).status, 200);
  const objs = Object.fromEntries(['data', 'keys', 'locks', 'snapshots', 'index'].map((type) => [type, randomBytes(100)]));
  for (const [type, body] of Object.entries(objs)) {
    assert.equal((await http(url(`${type}/${sha256(body)}`), { method: 'POST', headers: auth, body })).status, 200, type);
  }
  for (const [type, body] of Object.entries(objs)) {
    const r = await http(url(`${type}/${sha256(body)}`), { method: 'DELETE', headers: auth });
    assert.equal(r.status, type === 'locks' ? 200 : 403, type);
  }
  assert.equal((await http(url('config'), { method: 'DELETE', headers: auth })).status, 403);
  const files = await filesUnder(s.repoDir('kiosk'));
  assert.equal(files.length, 5, 'config and four objects remain; only the lock is gone');
  assert.ok(!files.some((f) => f.startsWith('locks/')));
});

test('restic against an append-only client: backup works, forget --prune fails with 403, then works once allowed', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const s = await startServer(t);
  const { repo } = await s.addClient('kiosk', { appendOnly: true });
  const restic = await resticRunner(t);
  const work = await tempDir(t);
  const src = join(work, 'src');
  await makeTree(src, 'append-only', 8, 1024 * 1024);
  expectOk(await restic(['-r', repo, 'init']), 'init');
  expectOk(await restic(['-r', repo, 'backup', src]), 'backup');
  await writeFile(join(src, 'new.txt'), 'second generation\n');
  expectOk(await restic(['-r', repo, 'backup', src]), 'second backup');
  expectOk(await restic(['-r', repo, 'unlock']), 'unlock');
  const pw = join(work, 'pw2');
  await writeFile(pw, 'second key\n');
  expectOk(await restic(['-r', repo, 'key', 'add', '--new-password-file', pw]), 'key add');
  const before = await filesUnder(s.repoDir('kiosk'));

  const forget = await restic(['-r', repo, 'forget', '--keep-last', '1', '--prune']);
  assert.notEqual(forget.code, 0, 'forget --prune must fail on an append-only client');
  assert.match(forget.stderr, /403/);
  const after = (await filesUnder(s.repoDir('kiosk'))).filter((f) => !f.startsWith('locks/'));
  assert.deepEqual(after, before.filter((f) => !f.startsWith('locks/')), 'nothing was deleted');
  assert.match(expectOk(await restic(['-r', repo, 'check']), 'check').stdout, /no errors were found/);

  // The flag changes in the accounts file; the running server picks it up.
  await setClient(s.data, 'kiosk', { appendOnly: false });
  await s.server.reloadAccounts();
  expectOk(await restic(['-r', repo, 'forget', '--keep-last', '1', '--prune']), 'forget --prune once allowed');
  const snaps = JSON.parse(expectOk(await restic(['-r', repo, 'snapshots', '--json']), 'snapshots').stdout) as unknown[];
  assert.equal(snaps.length, 1);
});
