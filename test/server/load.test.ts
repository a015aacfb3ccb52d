// Load: eight restic clients back up to one server at once. Every repository must check clean
// afterwards; the server's resident memory is sampled throughout and reported.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { addClient, initDataDir } from '../../src/server/accounts.js';
import { dataDir } from '../../src/server/data-dir.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { cliCommand, eventually, expectOk, makeTree, resticRunner } from './harness.js';

const CLIENTS = 8;

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) * 1024;
}

test(`${CLIENTS} restic clients back up concurrently; all check clean; server memory stays bounded`, async (t) => {
  if (!requireTools(t, 'restic')) return;
  const work = await tempDir(t);
  const root = join(work, 'data');
  await initDataDir(root);
  const secrets: string[] = [];
  for (let i = 0; i < CLIENTS; i++) secrets.push((await addClient(dataDir(root), `host${i}`)).secret);

  // The server runs in its own process, so its memory is measured apart from the test's.
  const { cmd, args } = cliCommand();
  const server = spawn(cmd, [...args, 'server', '--data', root, '--listen', '127.0.0.1:0', '--log', 'off', '--audit-every', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
  });
  let stderr = '';
  server.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await eventually(async () => assert.match(stderr, /listening on http:\/\/\S+:(\d+)/), 20_000);
  const port = /listening on http:\/\/\S+:(\d+)/.exec(stderr)![1]!;

  let peak = 0;
  const samples: number[] = [];
  const sampler = setInterval(() => {
    rssOf(server.pid!).then(
      (rss) => {
        samples.push(rss);
        peak = Math.max(peak, rss);
      },
      () => undefined,
    );
  }, 100);
  t.after(() => clearInterval(sampler));

  const restic = await resticRunner(t);
  const started = Date.now();
  let uploaded = 0;
  await Promise.all(
    secrets.map(async (secret, i) => {
      const repo = `rest:http://host${i}:${secret}@127.0.0.1:${port}/host${i}/`;
      const src = join(work, `src${i}`);
      await makeTree(src, `load-${i}`, 10, 12 * 1024 * 1024);
      expectOk(await restic(['-r', repo, 'init']), `init host${i}`);
      const out = expectOk(await restic(['-r', repo, 'backup', '--json', src]), `backup host${i}`).stdout;
      const summary = out.trim().split('\n').map((l) => JSON.parse(l) as { message_type: string; data_added?: number }).find((m) => m.message_type === 'summary');
      uploaded += summary?.data_added ?? 0;
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  clearInterval(sampler);

  for (let i = 0; i < CLIENTS; i++) {
    const repo = `rest:http://host${i}:${secrets[i]}@127.0.0.1:${port}/host${i}/`;
    assert.match(expectOk(await restic(['-r', repo, 'check', '--read-data']), `check host${i}`).stdout, /no errors were found/);
  }
  const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
  const median = [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? 0;
  t.diagnostic(`server RSS during ${CLIENTS} concurrent backups: peak ${mib(peak)} MiB, median ${mib(median)} MiB over ${samples.length} samples`);
  t.diagnostic(`${mib(uploaded)} MiB added by ${CLIENTS} clients in ${seconds.toFixed(1)} s (init included)`);
  assert.ok(samples.length > 0, 'the server memory was sampled');
  // Uploads stream through bounded buffers: eight clients with five connections each stay far below this.
  assert.ok(peak < 300 * 1024 * 1024, `server RSS peaked at ${mib(peak)} MiB`);
});
