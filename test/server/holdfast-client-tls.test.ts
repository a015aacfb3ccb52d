// holdfast over https to a holdfast server with a self-signed certificate: refused with a hint
// until the certificate is given, then trusted through --cacert or HOLDFAST_CACERT.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { testEnv } from '../helpers/cli.js';
import { ServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { cliCommand, expectOk, run, treeDigest } from './harness.js';

function holdfast(t: TestContext, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const { cmd, args: node } = cliCommand();
  return run(t, cmd, [...node, ...args], { ...testEnv, ...env });
}

test('https with a self-signed certificate: holdfast needs --cacert or HOLDFAST_CACERT, then works end to end', async (t) => {
  if (!requireTools(t, 'openssl')) return;
  const work = await tempDir(t);
  const certFile = join(work, 'cert.pem');
  const keyFile = join(work, 'key.pem');
  const openssl = await run(t, 'openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  expectOk(openssl, 'openssl req');
  const server = await ServerProcess.start(t, { tls: { certFile, keyFile } });
  const { repo, secret } = await server.addClient('remote');
  assert.match(repo, /^rest:https:\/\/remote:/);
  const src = join(work, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  await writeFile(join(src, 'sub', 'random.bin'), randomBytes(6 * 1024 * 1024));
  await writeFile(join(src, 'note.txt'), 'over https\n');

  const untrusted = await holdfast(t, ['-r', repo, 'init']);
  assert.notEqual(untrusted.code, 0);
  assert.equal(untrusted.stderr.trim().split('\n').length, 1, `one line: ${untrusted.stderr}`);
  assert.match(untrusted.stderr, /certificate/i);
  assert.match(untrusted.stderr, /pass it with --cacert \(1 attempt\)$/m);
  assert.ok(!untrusted.stderr.includes(secret));

  const withOption = ['-r', repo, '--cacert', certFile];
  expectOk(await holdfast(t, [...withOption, 'init']), 'init with --cacert');
  expectOk(await holdfast(t, [...withOption, '--pack-size', '4', 'backup', src]), 'backup with --cacert');
  assert.match(expectOk(await holdfast(t, [...withOption, 'check', '--read-data']), 'check with --cacert').stdout, /no errors were found/);

  const env = { HOLDFAST_CACERT: certFile };
  const snapshots = JSON.parse(expectOk(await holdfast(t, ['-r', repo, 'snapshots', '--json'], env), 'snapshots with HOLDFAST_CACERT').stdout) as unknown[];
  assert.equal(snapshots.length, 1);
  const dst = join(work, 'dst');
  expectOk(await holdfast(t, ['-r', repo, 'restore', 'latest', '--target', dst], env), 'restore with HOLDFAST_CACERT');
  assert.deepEqual(await treeDigest(join(dst, src)), await treeDigest(src));
  // The traffic really went over TLS to this server.
  assert.ok((await server.requests()).some((r) => r.method === 'POST' && r.kind === 'data' && r.status === 200));
});
