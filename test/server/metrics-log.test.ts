// /metrics and the request log: what operators scrape and read. Metrics need the admin credential
// unless --metrics-no-auth; every request is one JSON line that never carries a secret.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { basic, eventually, http, sha256, startServer } from './harness.js';

interface LogLine {
  time?: string;
  event?: string;
  client: string | null;
  method: string;
  kind: string;
  status: number;
  bytes: number;
  ms: number;
}

test('metrics: storage and uploads per client and type, errors by status, admin only', async (t) => {
  const s = await startServer(t);
  const { secret } = await s.addClient('ops');
  const auth = { authorization: basic('ops', secret) };
  await http(`${s.base}/ops/?create=true`, { method: 'POST', headers: auth });
  const pack = randomBytes(12_345);
  await http(`${s.base}/ops/data/${sha256(pack)}`, { method: 'POST', headers: auth, body: pack });
  await http(`${s.base}/ops/data/${sha256(pack)}`, { headers: auth });
  await http(`${s.base}/ops/config`, { headers: auth });

  assert.equal((await http(`${s.base}/metrics`, { headers: auth })).status, 401, 'a client may not read metrics');
  const m = (await http(`${s.base}/metrics`, { headers: { authorization: basic('admin', s.adminSecret) } })).body.toString();
  assert.match(m, /^holdfast_stored_bytes\{client="ops"\} 12345$/m);
  assert.match(m, /^holdfast_stored_files\{client="ops"\} 1$/m);
  assert.match(m, /^holdfast_uploads_total\{client="ops",type="data"\} 1$/m);
  assert.match(m, /^holdfast_upload_bytes_total\{client="ops",type="data"\} 12345$/m);
  assert.match(m, /^holdfast_download_bytes_total\{client="ops",type="data"\} 12345$/m);
  assert.match(m, /^holdfast_http_errors_total\{status="404"\} 1$/m);
  assert.match(m, /^holdfast_http_errors_total\{status="401"\} 1$/m);
  assert.match(m, /^# TYPE holdfast_audit_running gauge$/m);
  assert.match(m, /^process_resident_memory_bytes \d+$/m);
});

test('--metrics-no-auth opens /metrics and nothing else', async (t) => {
  const s = await startServer(t, { metricsNoAuth: true });
  assert.equal((await http(`${s.base}/metrics`)).status, 200);
  assert.equal((await http(`${s.base}/-/admin/clients`)).status, 401);
});

test('the log: one JSON line per request with client, kind, status, bytes, time; never a secret', async (t) => {
  const s = await startServer(t);
  const { secret } = await s.addClient('logger');
  const auth = { authorization: basic('logger', secret) };
  const obj = randomBytes(1000);
  await http(`${s.base}/logger/?create=true`, { method: 'POST', headers: auth });
  await http(`${s.base}/logger/index/${sha256(obj)}`, { method: 'POST', headers: auth, body: obj });
  await http(`${s.base}/logger/index/`, { headers: auth });
  await http(`${s.base}/logger/index/${sha256(obj)}`, { headers: { ...auth, range: 'bytes=0-99' } });
  await http(`${s.base}/logger/config`, { method: 'HEAD', headers: auth });
  await http(`${s.base}/logger/config`, { headers: { authorization: basic('logger', 'not-the-secret') } });

  const want = [
    ['logger', 'POST', 'create', 200, 0],
    ['logger', 'POST', 'index', 200, 1000],
    ['logger', 'GET', 'list:index', 200, -1],
    ['logger', 'GET', 'index', 206, 100],
    ['logger', 'HEAD', 'config', 404, 0],
    [null, 'GET', 'unauthenticated', 401, 0],
  ];
  await eventually(async () => {
    const lines = (await readFile(s.logFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as LogLine).filter((l) => !l.event);
    assert.equal(lines.length, want.length);
    lines.forEach((l, i) => {
      const [client, method, kind, status, bytes] = want[i]!;
      assert.deepEqual([l.client, l.method, l.kind, l.status], [client, method, kind, status]);
      if (bytes !== -1) assert.equal(l.bytes, bytes);
      assert.ok(typeof l.ms === 'number' && !Number.isNaN(Date.parse(l.time!)));
    });
  });
  const text = await readFile(s.logFile, 'utf8');
  assert.ok(!text.includes(secret) && !text.includes('not-the-secret') && !/authorization|basic /i.test(text));
});
