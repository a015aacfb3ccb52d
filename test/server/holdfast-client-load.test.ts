// Load with mixed clients: four restic and four holdfast back up to one server process at once.
// Every repository must check clean with --read-data; the server's memory is sampled and reported.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { testEnv } from '../helpers/cli.js';
import { ServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { cliCommand, expectOk, makeTree, resticRunner, run } from './harness.js';

const PER_KIND = 4;

test(`${PER_KIND} restic and ${PER_KIND} holdfast clients back up concurrently; every snapshot checks clean`, async (t) => {
  if (!requireTools(t, 'restic')) return;
  const server = await ServerProcess.start(t);
  const work = await tempDir(t);
  const restic = await resticRunner(t);
  const { cmd, args } = cliCommand();
  const holdfast = (more: readonly string[]) => run(t, cmd, [...args, ...more], testEnv);

  const clients: { name: string; repo: string; kind: 'restic' | 'holdfast' }[] = [];
  for (let i = 0; i < 2 * PER_KIND; i++) {
    const name = `host${i}`;
    clients.push({ name, repo: (await server.addClient(name)).repo, kind: i % 2 ? 'holdfast' : 'restic' });
  }

  const samples: number[] = [];
  const sampler = setInterval(() => void server.rss().then((rss) => samples.push(rss), () => undefined), 100);
  t.after(() => clearInterval(sampler));
  await Promise.all(
    clients.map(async (c, i) => {
      const src = join(work, c.name);
      await makeTree(src, `mixed-load-${i}`, 10, 6 * 1024 * 1024);
      const tool = c.kind === 'restic' ? restic : holdfast;
      expectOk(await tool(['-r', c.repo, 'init']), `init ${c.name} (${c.kind})`);
      expectOk(await tool(['-r', c.repo, 'backup', src]), `backup ${c.name} (${c.kind})`);
    }),
  );
  clearInterval(sampler);

  for (const c of clients) {
    const tool = c.kind === 'restic' ? restic : holdfast;
    const snapshots = JSON.parse(expectOk(await tool(['-r', c.repo, 'snapshots', '--json']), `snapshots ${c.name}`).stdout) as unknown[];
    assert.equal(snapshots.length, 1, `${c.name} has its snapshot`);
    assert.match(expectOk(await tool(['-r', c.repo, 'check', '--read-data']), `check ${c.name} (${c.kind})`).stdout, /no errors were found/);
  }
  const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
  const sorted = [...samples].sort((a, b) => a - b);
  t.diagnostic(
    `server RSS during ${clients.length} concurrent backups (${PER_KIND} restic, ${PER_KIND} holdfast): ` +
      `peak ${mib(sorted.at(-1) ?? 0)} MiB, median ${mib(sorted[Math.floor(sorted.length / 2)] ?? 0)} MiB over ${samples.length} samples`,
  );
});
