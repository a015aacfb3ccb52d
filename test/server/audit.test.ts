// The key-less audit: a flipped byte, a truncation and a deleted pack are reported with client and
// file; deletes through the API are not; unchanged files are skipped until they are due again.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, open, truncate, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { auditClient, auditClients } from '../../src/server/audit.js';
import { readHistory, readSummary } from '../../src/server/audit-store.js';
import type { AuditStatus } from '../../src/server/admin-api.js';
import { basic, cliCommand, eventually, http, run, sha256, startServer, type TestServer } from './harness.js';

/** Random bytes ending in a plausible pack trailer (a header length of 200). */
function fakePack(size: number): Buffer {
  const b = randomBytes(size);
  b.writeUInt32LE(200, size - 4);
  return b;
}

async function fill(s: TestServer, client: string, packs: number): Promise<{ packs: string[]; auth: { authorization: string } }> {
  const { secret } = await s.addClient(client);
  const auth = { authorization: basic(client, secret) };
  const post = async (path: string, body: Buffer) => {
    const r = await http(`${s.base}/${client}/${path}`, { method: 'POST', headers: auth, body });
    assert.equal(r.status, 200, path);
  };
  await http(`${s.base}/${client}/?create=true`, { method: 'POST', headers: auth });
  await post('config', randomBytes(155));
  for (const type of ['keys', 'index', 'snapshots']) {
    const b = randomBytes(500);
    await post(`${type}/${sha256(b)}`, b);
  }
  const names: string[] = [];
  for (let i = 0; i < packs; i++) {
    const p = fakePack(10_000 + i);
    names.push(sha256(p));
    await post(`data/${sha256(p)}`, p);
  }
  return { packs: names, auth };
}

const packPath = (s: TestServer, client: string, name: string) => join(s.repoDir(client), 'data', name.slice(0, 2), name);
const rel = (name: string) => `data/${name.slice(0, 2)}/${name}`;

async function flipByte(path: string, at: number): Promise<void> {
  await chmod(path, 0o600);
  const fh = await open(path, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  b[0] = b[0]! ^ 0xff;
  await fh.write(b, 0, 1, at);
  await fh.close();
  await chmod(path, 0o400);
}

test('flipped, truncated and deleted packs are reported exactly, with client and name; a clean client is clean', async (t) => {
  const s = await startServer(t);
  const { packs, auth } = await fill(s, 'alpha', 6);
  await fill(s, 'beta', 2);
  const opts = { reverifyAfterMs: 30 * 86_400_000 };

  const first = await auditClients(s.data, ['alpha', 'beta'], opts);
  assert.deepEqual(first.runs.map((r) => [r.client, r.filesChecked, r.problems.length]), [['alpha', 10, 0], ['beta', 6, 0]]);

  const [flipped, truncated, deleted, prunedByClient] = packs as [string, string, string, string];
  await flipByte(packPath(s, 'alpha', flipped), 5000);
  await truncate(packPath(s, 'alpha', truncated), 4000);
  await unlink(packPath(s, 'alpha', deleted));
  // A delete through the API (a prune) is not a loss.
  assert.equal((await http(`${s.base}/alpha/data/${prunedByClient}`, { method: 'DELETE', headers: auth })).status, 200);

  const second = await auditClients(s.data, ['alpha', 'beta'], opts);
  const alpha = second.runs.find((r) => r.client === 'alpha')!;
  const found = alpha.problems.map((p) => [p.client, p.file, p.kind]).sort();
  assert.deepEqual(
    found,
    [
      ['alpha', rel(deleted), 'vanished'],
      ['alpha', rel(flipped), 'hash-mismatch'],
      ['alpha', rel(truncated), 'truncated'],
    ].sort(),
  );
  assert.equal(alpha.filesChecked, 2, 'only the two changed files were read again');
  assert.deepEqual(second.runs.find((r) => r.client === 'beta')!.problems, []);

  const history = await readHistory(s.data, 'alpha');
  assert.equal(history.length, 2);
  const summary = await readSummary(s.data, 'alpha');
  assert.equal(summary.lastRun!.problems.length, 3);
  assert.equal(summary.lastClean, history[0]!.finished);

  // The admin API and the metrics show the same.
  const admin = { authorization: basic('admin', s.adminSecret) };
  const status = JSON.parse((await http(`${s.base}/-/admin/audit`, { headers: admin })).body.toString()) as { clients: { client: string; lastRun: { problems: unknown[] } }[] };
  assert.equal(status.clients.find((c) => c.client === 'alpha')!.lastRun.problems.length, 3);
  const metrics = (await http(`${s.base}/metrics`, { headers: admin })).body.toString();
  assert.match(metrics, /^holdfast_audit_last_problems\{client="alpha"\} 3$/m);
  assert.match(metrics, /^holdfast_audit_last_problems\{client="beta"\} 0$/m);
  assert.match(metrics, /^holdfast_audit_last_clean_age_seconds\{client="beta"\} \d+$/m);
});

test('bit rot that keeps size and mtime is found once the file is due for re-verification', async (t) => {
  const s = await startServer(t);
  const { packs } = await fill(s, 'gamma', 3);
  const path = packPath(s, 'gamma', packs[0]!);
  // A whole-second mtime can be put back exactly after the damage.
  const when = 1_700_000_000;
  await utimes(path, when, when);
  await auditClient(s.data, 'gamma', { reverifyAfterMs: 30 * 86_400_000 });
  await flipByte(path, 100);
  await utimes(path, when, when);

  const skipped = await auditClient(s.data, 'gamma', { reverifyAfterMs: 30 * 86_400_000 });
  assert.equal(skipped.filesChecked, 0);
  assert.equal(skipped.filesSkipped, 7);
  assert.deepEqual(skipped.problems, []);

  const due = await auditClient(s.data, 'gamma', { reverifyAfterMs: 0 });
  assert.deepEqual(due.problems.map((p) => [p.file, p.kind]), [[rel(packs[0]!), 'hash-mismatch']]);
});

test('a pack with an impossible trailer and a config changed on disk are reported', async (t) => {
  const s = await startServer(t);
  const { auth } = await fill(s, 'delta', 1);
  const bad = randomBytes(5000);
  bad.writeUInt32LE(4997, 4996);
  assert.equal((await http(`${s.base}/delta/data/${sha256(bad)}`, { method: 'POST', headers: auth, body: bad })).status, 200);
  await auditClient(s.data, 'delta', { reverifyAfterMs: 0 }).then((r) => {
    assert.deepEqual(r.problems.map((p) => [p.file, p.kind]), [[rel(sha256(bad)), 'bad-pack-trailer']]);
  });
  const config = join(s.repoDir('delta'), 'config');
  await chmod(config, 0o600);
  await writeFile(config, randomBytes(155));
  const r = await auditClient(s.data, 'delta', { reverifyAfterMs: 0 });
  assert.deepEqual(r.problems.map((p) => [p.file, p.kind]).sort(), [['config', 'changed'], [rel(sha256(bad)), 'bad-pack-trailer']].sort());
});

test('the server audits on its schedule; the CLI audits on demand, exits 1 on problems and shows the status', async (t) => {
  const s = await startServer(t, { auditEveryMs: 200 });
  const { packs } = await fill(s, 'zeta', 2);
  const admin = { authorization: basic('admin', s.adminSecret) };
  await eventually(async () => {
    const status = JSON.parse((await http(`${s.base}/-/admin/audit`, { headers: admin })).body.toString()) as AuditStatus;
    const zeta = status.clients.find((c) => c.client === 'zeta');
    assert.ok(zeta?.lastClean, 'a scheduled run finished clean');
    assert.equal(status.everyMs, 200);
  });
  await s.server.close();

  await flipByte(packPath(s, 'zeta', packs[1]!), 10);
  const { cmd, args } = cliCommand();
  const audit = await run(t, cmd, [...args, 'server', 'audit', '--data', s.data.root, '--client', 'zeta', '--reverify-after', '0']);
  assert.equal(audit.code, 1, audit.stderr);
  assert.match(audit.stdout, /^zeta: 1 problem\(s\); 6 files read/m);
  assert.match(audit.stdout, new RegExp(`^  zeta ${rel(packs[1]!)}: hash-mismatch: `, 'm'));
  const status = await run(t, cmd, [...args, 'server', 'audit', 'status', '--data', s.data.root]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^zeta +\S+ \S+ +6 +1 /m);
});
