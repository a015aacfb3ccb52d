// https with a self-signed certificate made by openssl in the test: restic trusts it through
// --cacert, holdfast's REST backend through caCertFile, and without it both refuse to talk.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { RestBackend } from '../../src/backend/rest.js';
import { HoldfastError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { expectOk, makeTree, resticRunner, run, sha256, startServer, treeDigest } from './harness.js';

async function selfSigned(t: TestContext): Promise<{ certFile: string; keyFile: string }> {
  const dir = await tempDir(t, 'holdfast-tls-');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const r = await run(t, 'openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  expectOk(r, 'openssl req');
  return { certFile, keyFile };
}

test('restic over https with --cacert: init, backup, check --read-data, restore', async (t) => {
  if (!requireTools(t, 'restic', 'openssl')) return;
  const tls = await selfSigned(t);
  const s = await startServer(t, { tls });
  const { repo } = await s.addClient('secure');
  assert.match(repo, /^rest:https:\/\/secure:/);
  const restic = await resticRunner(t);
  const untrusted = await restic(['-r', repo, 'init']);
  assert.notEqual(untrusted.code, 0);
  assert.match(untrusted.stderr, /certificate/);

  const work = await tempDir(t);
  const src = join(work, 'src');
  await makeTree(src, 'tls', 6, 2 * 1024 * 1024);
  const withCa = ['-r', repo, '--cacert', tls.certFile];
  expectOk(await restic([...withCa, 'init']), 'init');
  expectOk(await restic([...withCa, 'backup', src]), 'backup');
  assert.match(expectOk(await restic([...withCa, 'check', '--read-data']), 'check').stdout, /no errors were found/);
  const dst = join(work, 'dst');
  expectOk(await restic([...withCa, 'restore', 'latest', '--target', dst]), 'restore');
  assert.deepEqual(await treeDigest(join(dst, src)), await treeDigest(src));
});

test('the REST backend trusts a self-signed server only with caCertFile, and says what to do', async (t) => {
  if (!requireTools(t, 'openssl')) return;
  const tls = await selfSigned(t);
  const s = await startServer(t, { tls });
  const { repo, secret } = await s.addClient('secure');

  const untrusted = await RestBackend.open(repo, { retries: 3, retryBaseMs: 1 });
  t.after(() => untrusted.close());
  await assert.rejects(untrusted.create(), (err: unknown) => {
    assert.ok(err instanceof HoldfastError);
    assert.equal(err.code, 'ERR_NETWORK');
    assert.match(err.message, /--cacert/);
    assert.match(err.message, /\(1 attempt\)/, 'a certificate error is not retried');
    assert.ok(!err.message.includes(secret));
    return true;
  });

  const b = await RestBackend.open(repo, { caCertFile: tls.certFile });
  t.after(() => b.close());
  await b.create();
  const data = randomBytes(200_000);
  await b.write({ type: 'data', name: sha256(data) }, data);
  assert.ok((await b.read({ type: 'data', name: sha256(data) }, { offset: 1000, length: 5000 })).equals(data.subarray(1000, 6000)));
});
