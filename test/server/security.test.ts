// Attacks and broken clients: missing or wrong credentials, one client reaching for another's
// repository, path traversal, bad hashes, bodies too long or never finished, oversized headers.
// Each must be refused and leave nothing on disk.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { basic, eventually, filesUnder, http, sha256, startServer } from './harness.js';

/** Sends raw bytes and collects the answer until the server closes the connection (or `limitMs`). */
function raw(t: TestContext, port: number, parts: (string | Buffer)[], limitMs = 10_000): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    t.after(() => sock.destroy());
    let text = '';
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ text, closedByServer: false });
    }, limitMs);
    sock.on('data', (d) => (text += d.toString('latin1')));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedByServer: true });
    });
    sock.on('connect', () => {
      for (const p of parts) sock.write(p);
    });
    sock.on('error', reject);
  });
}

async function twoClients(t: TestContext, options = {}) {
  const s = await startServer(t, options);
  const a = await s.addClient('alice');
  const b = await s.addClient('bob');
  const alice = { authorization: basic('alice', a.secret) };
  const bob = { authorization: basic('bob', b.secret) };
  for (const [name, auth] of [['alice', alice], ['bob', bob]] as const) {
    await http(`${s.base}/${name}/?create=true`, { method: 'POST', headers: auth });
    await http(`${s.base}/${name}/config`, { method: 'POST', headers: auth, body: `config of ${name}` });
  }
  return { s, alice, bob, aliceSecret: a.secret };
}

test('missing or wrong credentials get the same 401, whether the client exists or not', async (t) => {
  const { s, aliceSecret } = await twoClients(t);
  const u = `${s.base}/alice/config`;
  const answers = [
    await http(u),
    await http(u, { headers: { authorization: basic('alice', 'wrong') } }),
    await http(u, { headers: { authorization: basic('nobody', 'wrong') } }),
    await http(u, { headers: { authorization: basic('alice', `${aliceSecret}x`) } }),
    await http(u, { headers: { authorization: 'Bearer abc' } }),
    await http(`${s.base}/nobody/config`, { headers: { authorization: basic('nobody', aliceSecret) } }),
    await http(`${s.base}/-/admin/clients`, { headers: { authorization: basic('admin', 'wrong') } }),
    await http(`${s.base}/metrics`),
  ];
  for (const a of answers) {
    assert.equal(a.status, 401);
    assert.equal(a.body.toString(), 'authentication required\n');
    assert.equal(a.headers['www-authenticate'], undefined);
  }
  const log = await readFile(s.logFile, 'utf8');
  assert.ok(!log.includes(aliceSecret) && !/basic /i.test(log), 'the log holds no secret and no Authorization header');
});

test("a client cannot read, list, write or delete in another client's repository", async (t) => {
  const { s, alice } = await twoClients(t);
  const before = await filesUnder(s.repoDir('bob'));
  const obj = randomBytes(64);
  const attempts = [
    http(`${s.base}/bob/config`, { headers: alice }),
    http(`${s.base}/bob/config`, { method: 'HEAD', headers: alice }),
    http(`${s.base}/bob/keys/`, { headers: alice }),
    http(`${s.base}/bob/data/${sha256(obj)}`, { method: 'POST', headers: alice, body: obj }),
    http(`${s.base}/bob/config`, { method: 'DELETE', headers: alice }),
    http(`${s.base}/bob/?create=true`, { method: 'POST', headers: alice }),
    http(`${s.base}/-/admin/clients`, { headers: alice }),
  ];
  for (const a of await Promise.all(attempts)) assert.equal(a.status, 401);
  assert.deepEqual(await filesUnder(s.repoDir('bob')), before);
  assert.equal(await readFile(join(s.repoDir('bob'), 'config'), 'utf8'), 'config of bob');
});

test('path traversal and malformed names never reach the file system', async (t) => {
  const { s, alice } = await twoClients(t);
  const before = await filesUnder(s.data.root);
  const name = sha256(Buffer.from('x'));
  const paths = [
    '/alice/../bob/config',
    '/alice/%2e%2e/bob/config',
    '/alice/..%2fbob%2fconfig',
    '/alice/data%2f..%2f..%2fbob%2fconfig',
    '/alice/keys/..%2f..%2fbob%2fconfig',
    '/alice/keys/%2e%2e',
    '//etc/passwd',
    '/alice//config',
    '/alice/./config',
    '/alice/keys/../config',
    `/alice/keys/${name.toUpperCase()}`,
    `/alice/keys/${name.slice(1)}`,
    `/alice/keys/${name}.tmp`,
    `/alice/data/${name.slice(0, 2)}/${name}`,
    `/alice/keys/${name}/`,
    '/alice/config%00',
    '/%2e%2e/accounts.json',
    '/../accounts.json',
    '/alice/../../accounts.json',
  ];
  for (const p of paths) {
    const r = await raw(t, s.server.port, [`POST ${p} HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice.authorization}\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx`]);
    const status = Number(r.text.slice(9, 12));
    assert.ok(status === 404 || status === 401 || status === 400, `${p} answered ${status}`);
    const get = await raw(t, s.server.port, [`GET ${p} HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice.authorization}\r\nConnection: close\r\n\r\n`]);
    assert.doesNotMatch(get.text, /^HTTP\/1\.1 20/, `${p} must not be served`);
  }
  assert.deepEqual(await filesUnder(s.data.root), before);
});

test('a body that does not hash to its name is refused and nothing stays', async (t) => {
  const { s, alice } = await twoClients(t);
  const before = await filesUnder(s.data.root);
  const body = randomBytes(300_000);
  for (const type of ['data', 'keys', 'locks', 'snapshots', 'index']) {
    const r = await http(`${s.base}/alice/${type}/${sha256(Buffer.from(type))}`, { method: 'POST', headers: alice, body });
    assert.equal(r.status, 400, type);
  }
  assert.deepEqual(await filesUnder(s.data.root), before);
});

test('a body longer than its Content-Length is not stored', async (t) => {
  const { s, alice } = await twoClients(t);
  const before = await filesUnder(s.repoDir('alice'));
  // The name is the hash of all the bytes sent, but the server may only take Content-Length of them.
  const body = randomBytes(2000);
  const r = await raw(t, s.server.port, [
    `POST /alice/data/${sha256(body)} HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice.authorization}\r\nContent-Length: 1000\r\n\r\n`,
    body,
  ]);
  assert.match(r.text, /^HTTP\/1\.1 400 /);
  assert.ok(r.closedByServer, 'the trailing bytes are a malformed request, so the server closes');
  await eventually(async () => assert.deepEqual(await filesUnder(s.repoDir('alice')), before));
});

test('a body that never finishes is cut by the idle timeout and leaves no temp file', async (t) => {
  const { s, alice } = await twoClients(t, { idleTimeoutMs: 500 });
  const before = await filesUnder(s.repoDir('alice'));
  const body = randomBytes(100_000);
  const r = await raw(t, s.server.port, [
    `POST /alice/data/${sha256(body)} HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice.authorization}\r\nContent-Length: ${body.length}\r\n\r\n`,
    body.subarray(0, 60_000),
  ]);
  assert.ok(r.closedByServer, 'the server closed the stalled connection');
  assert.doesNotMatch(r.text, /^HTTP\/1\.1 200/);
  await eventually(async () => assert.deepEqual(await filesUnder(s.repoDir('alice')), before));
  const log = (await readFile(s.logFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { kind?: string; status?: number });
  assert.ok(log.some((l) => l.kind === 'data' && l.status === 0), 'the cut request is logged without a status');
});

test('headers that never finish are cut by the header timeout', async (t) => {
  const { s } = await twoClients(t, { headersTimeoutMs: 400, idleTimeoutMs: 60_000 });
  let stop = false;
  t.after(() => {
    stop = true;
  });
  // One header line every 100 ms keeps the connection busy, so only the header timeout can end it.
  const sock = connect(s.server.port, '127.0.0.1');
  t.after(() => sock.destroy());
  sock.on('error', () => undefined);
  let text = '';
  sock.on('data', (d) => (text += d.toString()));
  await new Promise<void>((resolve) => sock.on('connect', () => resolve()));
  sock.write('GET /alice/config HTTP/1.1\r\nHost: x\r\n');
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  for (let i = 0; i < 100 && !stop && !sock.destroyed; i++) {
    sock.write(`X-Slow-${i}: y\r\n`);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 100))]);
  }
  assert.ok(sock.destroyed || sock.readableEnded, 'the server closed the connection');
  assert.match(text, /^HTTP\/1\.1 408 /);
});

test('oversized headers get 431 and store nothing', async (t) => {
  const { s, alice } = await twoClients(t);
  const before = await filesUnder(s.data.root);
  const body = randomBytes(100);
  const r = await raw(t, s.server.port, [
    `POST /alice/data/${sha256(body)} HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice.authorization}\r\nX-Big: ${'a'.repeat(12_000)}\r\nContent-Length: 100\r\n\r\n`,
    body,
  ]);
  assert.match(r.text, /^HTTP\/1\.1 431 /);
  assert.deepEqual(await filesUnder(s.data.root), before);
});
