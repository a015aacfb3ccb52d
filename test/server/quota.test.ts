// Quotas: an upload that would pass a client's quota gets 507 with a one-line reason before any
// byte is written; a chunked upload crossing it mid-stream leaves nothing; the repository stays sound.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { request } from 'undici';
import { setClient } from '../../src/server/accounts.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { basic, eventually, expectOk, filesUnder, http, makeTree, resticRunner, sha256, startServer } from './harness.js';

test('an upload past the quota is answered 507 with a message, and nothing is stored', async (t) => {
  const s = await startServer(t);
  const { secret } = await s.addClient('small', { quota: 100_000 });
  const auth = { authorization: basic('small', secret) };
  const url = (p: string) => `${s.base}/small/${p}`;
  await http(url('?create=true'), { method: 'POST', headers: auth });
  const fits = randomBytes(60_000);
  assert.equal((await http(url(`data/${sha256(fits)}`), { method: 'POST', headers: auth, body: fits })).status, 200);
  const before = await filesUnder(s.repoDir('small'));

  const big = randomBytes(50_000);
  const r = await http(url(`data/${sha256(big)}`), { method: 'POST', headers: auth, body: big });
  assert.equal(r.status, 507);
  const message = r.body.toString();
  assert.match(message, /^quota exceeded: client "small" may store 97\.7 KiB and holds 58\.6 KiB; data\/[0-9a-f]{64} does not fit and was not stored\n$/);
  assert.deepEqual(await filesUnder(s.repoDir('small')), before);

  // Without Content-Length the size is only known as the body arrives: the write stops at the quota.
  const chunks = [randomBytes(30_000), randomBytes(30_000)];
  const streamed = await request(url(`data/${sha256(Buffer.concat(chunks))}`), {
    method: 'POST',
    headers: auth,
    body: Readable.from(chunks),
  });
  assert.equal(streamed.statusCode, 507);
  await streamed.body.dump();
  assert.deepEqual(await filesUnder(s.repoDir('small')), before);

  // Deleting frees room: the ledger follows writes and deletes.
  assert.equal((await http(url(`data/${sha256(fits)}`), { method: 'DELETE', headers: auth })).status, 200);
  assert.equal((await http(url(`data/${sha256(big)}`), { method: 'POST', headers: auth, body: big })).status, 200);
  const usage = JSON.parse((await http(`${s.base}/-/admin/usage`, { headers: { authorization: basic('admin', s.adminSecret) } })).body.toString()) as {
    clients: { name: string; storedBytes: number; quota: number }[];
  };
  assert.deepEqual(usage.clients, [{ name: 'small', storedBytes: 50_000, storedFiles: 1, quota: 100_000 }]);
});

test('after an upload refused half-way, the same connection carries the next request', async (t) => {
  const s = await startServer(t);
  const { secret } = await s.addClient('small', { quota: 10_000 });
  const auth = basic('small', secret);
  await http(`${s.base}/small/?create=true`, { method: 'POST', headers: { authorization: auth } });
  // Large enough that most of it is still unread when the server refuses the upload.
  const body = randomBytes(8 * 1024 * 1024);
  const chunked = (b: Buffer) => `${b.length.toString(16)}\r\n${b.toString('latin1')}\r\n`;
  const sock = connect(s.server.port, '127.0.0.1');
  t.after(() => sock.destroy());
  let text = '';
  sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
  await once(sock, 'connect');
  sock.write(`POST /small/data/${sha256(body)} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nTransfer-Encoding: chunked\r\n\r\n`, 'latin1');
  for (let i = 0; i < body.length; i += 64 * 1024) sock.write(chunked(body.subarray(i, i + 64 * 1024)), 'latin1');
  sock.write('0\r\n\r\n');
  sock.write(`HEAD /small/config HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\n\r\n`);
  await eventually(async () => {
    const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => m[1]);
    assert.deepEqual(statuses, ['507', '404']);
  });
  assert.deepEqual(await filesUnder(s.repoDir('small')), []);
});

test('restic hitting the quota fails cleanly; the repository still checks; a raised quota lets it finish', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const s = await startServer(t);
  const { repo } = await s.addClient('small', { quota: 3 * 1024 * 1024 });
  const restic = await resticRunner(t);
  const work = await tempDir(t);
  expectOk(await restic(['-r', repo, 'init']), 'init');
  const small = join(work, 'small');
  await makeTree(small, 'fits', 4, 512 * 1024);
  expectOk(await restic(['-r', repo, 'backup', small]), 'backup within quota');
  const large = join(work, 'large');
  await makeTree(large, 'too big', 6, 8 * 1024 * 1024);
  const over = await restic(['-r', repo, '--pack-size', '4', 'backup', large]);
  assert.notEqual(over.code, 0);
  assert.match(over.stderr, /507/);
  assert.match(expectOk(await restic(['-r', repo, 'check']), 'check after the failed backup').stdout, /no errors were found/);

  await setClient(s.data, 'small', { quota: null });
  await s.server.reloadAccounts();
  expectOk(await restic(['-r', repo, 'backup', large]), 'backup after lifting the quota');
  assert.match(expectOk(await restic(['-r', repo, 'check', '--read-data']), 'check --read-data').stdout, /no errors were found/);
});
