// Accounts through the CLI: init, client add/list/set/remove, secrets stored only as hashes, and
// a running server (started by the CLI) that follows account changes without a restart.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { basic, cliCommand, eventually, http, run, startServer } from './harness.js';

async function cli(t: TestContext, ...args: string[]) {
  const { cmd, args: pre } = cliCommand();
  return run(t, cmd, [...pre, ...args]);
}

test('server init, client add/list/set/remove; only scrypt hashes are stored', async (t) => {
  const data = join(await tempDir(t), 'data');
  const early = await cli(t, 'server', 'client', 'add', 'laptop', '--data', data);
  assert.equal(early.code, 1);
  assert.equal(early.stderr, `holdfast: ${data} is not a server data directory: run "holdfast server init --data ${data}"\n`);
  const init = await cli(t, 'server', 'init', '--data', data);
  assert.equal(init.code, 0, init.stderr);
  const adminSecret = /secret (\S+)/.exec(init.stdout)![1]!;
  const again = await cli(t, 'server', 'init', '--data', data);
  assert.match(again.stdout, /already a server data directory/);
  assert.doesNotMatch(again.stdout, /secret/);

  const add = await cli(t, 'server', 'client', 'add', 'laptop', '--append-only', '--quota', '2G', '--url', 'https://backup.example.com:8443', '--data', data);
  assert.equal(add.code, 0, add.stderr);
  const secret = /secret: +(\S+)/.exec(add.stdout)![1]!;
  assert.match(add.stdout, new RegExp(`repository: rest:https://laptop:${secret}@backup\\.example\\.com:8443/laptop/`));
  assert.notEqual((await cli(t, 'server', 'client', 'add', 'laptop', '--data', data)).code, 0, 'names are unique');
  assert.notEqual((await cli(t, 'server', 'client', 'add', '../evil', '--data', data)).code, 0, 'names are checked');
  assert.notEqual((await cli(t, 'server', 'client', 'add', 'admin', '--data', data)).code, 0, 'admin is reserved');

  const accounts = await readFile(join(data, 'accounts.json'), 'utf8');
  assert.ok(!accounts.includes(secret) && !accounts.includes(adminSecret), 'no secret is stored in clear');
  assert.match(accounts, /"hash"/);

  const list = JSON.parse((await cli(t, '--json', 'server', 'client', 'list', '--data', data)).stdout) as { name: string; appendOnly: boolean; quota: number | null }[];
  assert.deepEqual(list.map((c) => [c.name, c.appendOnly, c.quota]), [['laptop', true, 2 * 1024 ** 3]]);
  assert.equal((await cli(t, 'server', 'client', 'set', 'laptop', '--no-append-only', '--quota', 'none', '--data', data)).code, 0);
  const changed = JSON.parse((await cli(t, '--json', 'server', 'client', 'list', '--data', data)).stdout) as { appendOnly: boolean; quota: null }[];
  assert.deepEqual(changed.map((c) => [c.appendOnly, c.quota]), [[false, null]]);
  assert.equal((await cli(t, 'server', 'client', 'remove', 'laptop', '--data', data)).code, 0);
  assert.notEqual((await cli(t, 'server', 'client', 'remove', 'laptop', '--data', data)).code, 0);
  assert.deepEqual(JSON.parse((await cli(t, '--json', 'server', 'client', 'list', '--data', data)).stdout), []);
});

test('a running server follows the accounts file: new clients log in, removed ones are refused at once', async (t) => {
  const s = await startServer(t, { accountsPollMs: 50 });
  const { addClient, removeClient, setClient } = await import('../../src/server/accounts.js');
  const c = await addClient(s.data, 'desk');
  const auth = { authorization: basic('desk', c.secret) };
  await eventually(async () => assert.equal((await http(`${s.base}/desk/?create=true`, { method: 'POST', headers: auth })).status, 200));
  await http(`${s.base}/desk/config`, { method: 'POST', headers: auth, body: 'cfg' });
  await setClient(s.data, 'desk', { appendOnly: true });
  await eventually(async () => assert.equal((await http(`${s.base}/desk/config`, { method: 'DELETE', headers: auth })).status, 403));
  await removeClient(s.data, 'desk');
  // The login is cached, but a reload drops the cache: removal is immediate, not a minute later.
  await eventually(async () => assert.equal((await http(`${s.base}/desk/config`, { headers: auth })).status, 401));
});

test('the CLI server: admin secret on first start, URL for new clients, SIGHUP reload, clean stop', async (t) => {
  const data = join(await tempDir(t), 'data');
  const { cmd, args } = cliCommand();
  const child = spawn(cmd, [...args, 'server', '--data', data, '--listen', '127.0.0.1:0', '--log', 'off', '--audit-every', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await eventually(async () => assert.match(stderr, /listening on (http:\/\/\S+)/), 20_000);
  const base = /listening on (http:\/\/\S+)/.exec(stderr)![1]!;
  const adminSecret = /secret (\S+)/.exec(stderr)![1]!;

  const add = await cli(t, 'server', 'client', 'add', 'tower', '--data', data);
  const repo = /repository: (\S+)/.exec(add.stdout)![1]!;
  const secret = /secret: +(\S+)/.exec(add.stdout)![1]!;
  assert.equal(repo, `rest:http://tower:${secret}@${new URL(base).host}/tower/`, 'the URL points at the running server');
  child.kill('SIGHUP');
  const port = new URL(base).port;
  await eventually(async () =>
    assert.equal((await http(`http://127.0.0.1:${port}/tower/?create=true`, { method: 'POST', headers: { authorization: basic('tower', secret) } })).status, 200),
  );
  const clients = JSON.parse((await http(`http://127.0.0.1:${port}/-/admin/clients`, { headers: { authorization: basic('admin', adminSecret) } })).body.toString()) as {
    name: string;
  }[];
  assert.deepEqual(clients.map((c) => c.name), ['tower']);

  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});
