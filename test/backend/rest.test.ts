// The REST backend against stub servers that misbehave on purpose: retries on 5xx and broken
// connections but not on 4xx, bounded parallelism, API v1 lists, servers that ignore Range, secrets.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { RestBackend } from '../../src/backend/rest.js';
import { parseRestLocation } from '../../src/backend/rest-url.js';
import { HoldfastError } from '../../src/errors.js';

type Stub = (req: IncomingMessage, res: ServerResponse, n: number) => void;

async function stub(t: TestContext, handle: Stub): Promise<{ url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    req.resume();
    req.on('end', () => handle(req, res, requests.length));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve()) && server.closeAllConnections()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/repo/`, requests };
}

async function open(t: TestContext, location: string, o: Parameters<typeof RestBackend.open>[1] = {}): Promise<RestBackend> {
  const b = await RestBackend.open(location, { retryBaseMs: 1, retryMaxMs: 5, ...o });
  t.after(() => b.close());
  return b;
}

const name = 'ab'.repeat(32);
const isCode = (code: string) => (err: unknown) => err instanceof HoldfastError && err.code === code;

test('5xx answers are retried until one succeeds', async (t) => {
  const s = await stub(t, (_req, res, n) => {
    res.writeHead(n < 3 ? 503 : 200, { 'content-length': 4 }).end(n < 3 ? 'busy' : 'data');
  });
  const b = await open(t, `rest:${s.url}`);
  assert.equal((await b.read({ type: 'keys', name })).toString(), 'data');
  assert.equal(s.requests.length, 3);
});

test('4xx answers are final: one request, a clear error', async (t) => {
  const s = await stub(t, (_req, res) => res.writeHead(400).end('bad request: something\n'));
  const b = await open(t, `rest:${s.url}`);
  await assert.rejects(b.write({ type: 'data', name }, Buffer.from('x')), (err: unknown) => {
    assert.ok(isCode('ERR_HTTP')(err));
    assert.match((err as Error).message, /^cannot store data\/(ab)+: rest:http:\/\/127\.0\.0\.1:\d+\/repo\/ answered 400: bad request: something$/);
    return true;
  });
  assert.equal(s.requests.length, 1);
});

/** A port nobody listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('an unreachable server fails after the retries, without showing the secret', async (t) => {
  const location = `rest:http://user:topsecret@127.0.0.1:${await closedPort()}/repo/`;
  const b = await open(t, location, { retries: 2 });
  await assert.rejects(b.stat({ type: 'config' }), (err: unknown) => {
    assert.ok(isCode('ERR_NETWORK')(err));
    assert.match((err as Error).message, /\(3 attempts\)/);
    assert.ok(!(err as Error).message.includes('topsecret'));
    assert.match((err as Error).message, /rest:http:\/\/user:\*\*\*@127\.0\.0\.1:\d+\/repo\//);
    return true;
  });
});

test('wrong credentials are ERR_PERMISSION; credentials may come from the environment', async (t) => {
  const s = await stub(t, (req, res) => {
    const ok = req.headers.authorization === `Basic ${Buffer.from('envuser:env secret').toString('base64')}`;
    res.writeHead(ok ? 200 : 401, { 'content-length': ok ? 3 : 0 }).end(ok ? 'yes' : undefined);
  });
  const fromEnv = await open(t, `rest:${s.url}`, { env: { HOLDFAST_REST_USER: 'envuser', HOLDFAST_REST_PASSWORD: 'env secret' } });
  assert.equal((await fromEnv.read({ type: 'config' })).toString(), 'yes');
  const wrong = await open(t, `rest:${s.url.replace('//', '//envuser:nope@')}`);
  await assert.rejects(wrong.read({ type: 'config' }), (err: unknown) => isCode('ERR_PERMISSION')(err) && !(err as Error).message.includes('nope'));
});

test('parallel requests are bounded by the connection count', async (t) => {
  let active = 0;
  let peak = 0;
  const s = await stub(t, (_req, res) => {
    active++;
    peak = Math.max(peak, active);
    setTimeout(() => {
      active--;
      res.writeHead(200, { 'content-length': 10 }).end();
    }, 20);
  });
  const b = await open(t, `rest:${s.url}`, { connections: 3 });
  const sizes = await Promise.all(Array.from({ length: 20 }, () => b.stat({ type: 'data', name })));
  assert.ok(sizes.every((f) => f.size === 10));
  assert.ok(peak <= 3, `at most 3 requests at once, saw ${peak}`);
  assert.equal(s.requests.length, 20);
});

test('an API v1 server: names only, sizes by HEAD', async (t) => {
  const names = ['11'.repeat(32), '22'.repeat(32)];
  const s = await stub(t, (req, res) => {
    if (req.method === 'GET') return res.writeHead(200, { 'content-type': 'application/vnd.x.restic.rest.v1' }).end(JSON.stringify([...names, 'not-a-name']));
    res.writeHead(200, { 'content-length': req.url!.includes('11') ? 111 : 222 }).end();
  });
  const b = await open(t, `rest:${s.url}`);
  const listed = [];
  for await (const f of b.list('index')) listed.push(f);
  assert.deepEqual(listed, [
    { name: names[0], size: 111 },
    { name: names[1], size: 222 },
  ]);
});

test('a server that ignores Range still yields the right bytes', async (t) => {
  const whole = Buffer.from('0123456789abcdef');
  const s = await stub(t, (_req, res) => res.writeHead(200, { 'content-length': whole.length }).end(whole));
  const b = await open(t, `rest:${s.url}`);
  assert.equal((await b.read({ type: 'data', name }, { offset: 4, length: 6 })).toString(), '456789');
  await assert.rejects(b.read({ type: 'data', name }, { offset: 10, length: 10 }), isCode('ERR_CORRUPT'));
});

test("rest-server's 403 for a retried write of an existing object counts as success", async (t) => {
  const s = await stub(t, (req, res) => {
    if (req.method === 'POST') return res.writeHead(403).end('file already exists\n');
    res.writeHead(200, { 'content-length': 5 }).end();
  });
  const b = await open(t, `rest:${s.url}`);
  await b.write({ type: 'data', name }, Buffer.from('12345'));
  await assert.rejects(b.write({ type: 'data', name }, Buffer.from('123')), isCode('ERR_ALREADY_EXISTS'));
  await assert.rejects(b.write({ type: 'config' }, Buffer.from('12345')), isCode('ERR_ALREADY_EXISTS'));
});

test('REST locations: restic syntax, trailing slash, secret hidden in the display form', () => {
  const l = parseRestLocation('rest:https://me:p%40ss@backup.example.com:8000/me', {});
  assert.deepEqual(l, {
    origin: 'https://backup.example.com:8000',
    basePath: '/me/',
    user: 'me',
    secret: 'p@ss',
    display: 'rest:https://me:***@backup.example.com:8000/me/',
  });
  assert.equal(parseRestLocation('rest:http://host:1/', {}).display, 'rest:http://host:1/');
  assert.throws(() => parseRestLocation('rest:ftp://host/', {}), isCode('ERR_INVALID_ARGUMENT'));
  assert.throws(() => parseRestLocation('rest:http://u:hunter2@', {}), (err: unknown) => isCode('ERR_INVALID_ARGUMENT')(err) && !(err as Error).message.includes('hunter2'));
});
