// restic's REST protocol as restic 0.14 needs it, checked over raw HTTP: statuses, exact content
// types, list bodies and sizes, Range answers, write-once rules, and where files land on disk.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { basic, filesUnder, http, sha256, startServer } from './harness.js';

const V2 = 'application/vnd.x.restic.rest.v2';

async function setup(t: Parameters<typeof startServer>[0]) {
  const s = await startServer(t);
  const { secret } = await s.addClient('alice');
  const auth = { authorization: basic('alice', secret) };
  const url = (p: string) => `${s.base}/alice/${p}`;
  return { s, secret, auth, url };
}

test('create: needs ?create=true, is idempotent, makes every type directory', async (t) => {
  const { s, auth, url } = await setup(t);
  assert.equal((await http(url(''), { method: 'POST', headers: auth })).status, 400);
  assert.equal((await http(url('?create=true'), { method: 'POST', headers: auth })).status, 200);
  assert.equal((await http(url('?create=true'), { method: 'POST', headers: auth })).status, 200);
  for (const type of ['data', 'keys', 'locks', 'snapshots', 'index']) assert.ok((await stat(join(s.repoDir('alice'), type))).isDirectory());
  const del = await http(url(''), { method: 'DELETE', headers: auth });
  assert.equal(del.status, 405);
  assert.equal(del.headers.allow, 'POST');
});

test('lists: exact v2 content type, [] when empty, exact sizes; v1 without the Accept header', async (t) => {
  const { auth, url } = await setup(t);
  await http(url('?create=true'), { method: 'POST', headers: auth });
  for (const type of ['data', 'keys', 'locks', 'snapshots', 'index']) {
    const r = await http(url(`${type}/`), { headers: { ...auth, accept: V2 } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], V2);
    assert.equal(r.body.toString(), '[]');
  }
  const blobs = [randomBytes(1), randomBytes(70_000), randomBytes(1_500_000)];
  for (const b of blobs) assert.equal((await http(url(`data/${sha256(b)}`), { method: 'POST', headers: auth, body: b })).status, 200);
  const v2 = await http(url('data/'), { headers: { ...auth, accept: V2 } });
  const listed = (JSON.parse(v2.body.toString()) as { name: string; size: number }[]).sort((a, b) => a.name.localeCompare(b.name));
  const expected = blobs.map((b) => ({ name: sha256(b), size: b.length })).sort((a, b) => a.name.localeCompare(b.name));
  assert.deepEqual(listed, expected);
  const v1 = await http(url('data/'), { headers: auth });
  assert.equal(v1.headers['content-type'], 'application/vnd.x.restic.rest.v1');
  assert.deepEqual((JSON.parse(v1.body.toString()) as string[]).sort(), expected.map((e) => e.name));
});

test('config: 404 before, POST 200 (not 201), HEAD gives Content-Length, write-once', async (t) => {
  const { s, auth, url } = await setup(t);
  await http(url('?create=true'), { method: 'POST', headers: auth });
  assert.equal((await http(url('config'), { method: 'HEAD', headers: auth })).status, 404);
  const config = randomBytes(155);
  assert.equal((await http(url('config'), { method: 'POST', headers: auth, body: config })).status, 200);
  const head = await http(url('config'), { method: 'HEAD', headers: auth });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '155');
  const get = await http(url('config'), { headers: { ...auth, range: 'bytes=0-' } });
  assert.equal(get.status, 206);
  assert.equal(get.headers['content-range'], 'bytes 0-154/155');
  assert.ok(get.body.equals(config));
  // The same bytes again are a retry and succeed; other bytes would overwrite and are refused.
  assert.equal((await http(url('config'), { method: 'POST', headers: auth, body: config })).status, 200);
  const other = await http(url('config'), { method: 'POST', headers: auth, body: randomBytes(155) });
  assert.equal(other.status, 403);
  assert.ok((await readFile(join(s.repoDir('alice'), 'config'))).equals(config));
});

test('Range: exact 206 with Content-Range, suffix ranges, clamping, 416 past the end', async (t) => {
  const { auth, url } = await setup(t);
  await http(url('?create=true'), { method: 'POST', headers: auth });
  const data = randomBytes(10_000);
  const u = url(`data/${sha256(data)}`);
  await http(u, { method: 'POST', headers: auth, body: data });
  const part = await http(u, { headers: { ...auth, range: 'bytes=100-199' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-range'], 'bytes 100-199/10000');
  assert.equal(part.headers['content-length'], '100');
  assert.ok(part.body.equals(data.subarray(100, 200)));
  const suffix = await http(u, { headers: { ...auth, range: 'bytes=-10' } });
  assert.equal(suffix.status, 206);
  assert.ok(suffix.body.equals(data.subarray(9990)));
  const clamped = await http(u, { headers: { ...auth, range: 'bytes=9000-20000' } });
  assert.equal(clamped.headers['content-range'], 'bytes 9000-9999/10000');
  assert.ok(clamped.body.equals(data.subarray(9000)));
  const past = await http(u, { headers: { ...auth, range: 'bytes=10000-10010' } });
  assert.equal(past.status, 416);
  assert.equal(past.headers['content-range'], 'bytes */10000');
  const whole = await http(u, { headers: auth });
  assert.equal(whole.status, 200);
  assert.ok(whole.body.equals(data));
  const head = await http(u, { method: 'HEAD', headers: auth });
  assert.equal(head.headers['content-length'], '10000');
});

test('objects: stored under data/xx/ read-only, identical retry 200, hash mismatch 400, DELETE idempotent', async (t) => {
  const { s, auth, url } = await setup(t);
  await http(url('?create=true'), { method: 'POST', headers: auth });
  const data = randomBytes(5000);
  const name = sha256(data);
  assert.equal((await http(url(`data/${name}`), { method: 'POST', headers: auth, body: data })).status, 200);
  const onDisk = join(s.repoDir('alice'), 'data', name.slice(0, 2), name);
  assert.ok((await readFile(onDisk)).equals(data));
  assert.equal((await stat(onDisk)).mode & 0o777, 0o400);
  assert.equal((await http(url(`data/${name}`), { method: 'POST', headers: auth, body: data })).status, 200);
  const wrong = randomBytes(5000);
  assert.equal((await http(url(`data/${name}`), { method: 'POST', headers: auth, body: wrong })).status, 403);
  const fresh = sha256(randomBytes(8));
  const mismatch = await http(url(`keys/${fresh}`), { method: 'POST', headers: auth, body: wrong });
  assert.equal(mismatch.status, 400);
  assert.match(mismatch.body.toString(), /does not match its name/);
  assert.equal((await http(url(`keys/${fresh}`), { method: 'HEAD', headers: auth })).status, 404);
  assert.equal((await http(url(`data/${name}`), { method: 'DELETE', headers: auth })).status, 200);
  assert.equal((await http(url(`data/${name}`), { method: 'DELETE', headers: auth })).status, 200);
  assert.equal((await http(url(`data/${name}`), { headers: auth })).status, 404);
  const files = (await filesUnder(s.repoDir('alice'))).filter((f) => !f.startsWith('locks'));
  assert.deepEqual(files, [], 'no object and no temp file is left');
});

test('unknown paths are 404, wrong methods 405 with Allow', async (t) => {
  const { auth, url } = await setup(t);
  await http(url('?create=true'), { method: 'POST', headers: auth });
  for (const p of ['foo', 'data', 'tmp/', 'data/xyz', `data/${'A'.repeat(64)}`, 'config/x', 'data/00/']) {
    assert.equal((await http(url(p), { headers: auth })).status, 404, p);
  }
  const put = await http(url(`data/${'a'.repeat(64)}`), { method: 'PUT', headers: auth, body: 'x' });
  assert.equal(put.status, 405);
  assert.equal(put.headers.allow, 'GET, HEAD, POST, DELETE');
  assert.equal((await http(url('index/'), { method: 'POST', headers: auth })).status, 405);
});

test('uploading before the repository exists is a 404 and stores nothing', async (t) => {
  const { s, auth, url } = await setup(t);
  const data = randomBytes(100);
  assert.equal((await http(url(`data/${sha256(data)}`), { method: 'POST', headers: auth, body: data })).status, 404);
  assert.equal((await http(url(`keys/${sha256(data)}`), { method: 'POST', headers: auth, body: data })).status, 404);
  assert.deepEqual(await filesUnder(s.repoDir('alice')), []);
});

test('a restart loses nothing acknowledged and tallies usage again from disk', async (t) => {
  const first = await startServer(t);
  const { secret } = await first.addClient('alice');
  const auth = { authorization: basic('alice', secret) };
  await http(`${first.base}/alice/?create=true`, { method: 'POST', headers: auth });
  const objects = [randomBytes(1000), randomBytes(300_000), randomBytes(2_000_000)];
  for (const o of objects) assert.equal((await http(`${first.base}/alice/data/${sha256(o)}`, { method: 'POST', headers: auth, body: o })).status, 200);
  await first.server.close();

  const second = await startServer(t, {}, first.data.root);
  t.after(() => second.server.close());
  for (const o of objects) assert.ok((await http(`${second.base}/alice/data/${sha256(o)}`, { headers: auth })).body.equals(o));
  const usage = JSON.parse((await http(`${second.base}/-/admin/usage`, { headers: { authorization: basic('admin', first.adminSecret) } })).body.toString()) as {
    totalBytes: number;
  };
  assert.equal(usage.totalBytes, 2_301_000);
});
