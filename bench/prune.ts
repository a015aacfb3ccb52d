// Prune benchmark: 20 Linux-tree snapshots (10% of the files changed each time), half forgotten,
// then restic 0.14 and holdfast prune copies of one repository, timed. Alone: node dist/bench/prune.js

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchRoot, linuxTree } from './linux-tree.js';
import { type Measurement, measure, ratio } from './measure.js';

const holdfastMain = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const env = { HOLDFAST_PASSWORD: 'bench', RESTIC_PASSWORD: 'bench', XDG_CACHE_HOME: join(benchRoot, 'cache') };
const SNAPSHOTS = 20;

function run(command: string, args: readonly string[]): string {
  const r = spawnSync(command, args, { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

function files(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

/** The files snapshot `k` changes: a tenth of them, a different tenth each time, the same on every run. */
function churn(src: string, all: readonly string[], k: number): number {
  let changed = 0;
  for (const path of all) {
    if (createHash('sha256').update(`${k}:${path}`).digest()[0]! % 10 !== 0) continue;
    // Write a new file and rename it over the old: the tree is hard-linked to the shared corpus.
    const file = join(src, path);
    const tmp = file + '.churn';
    writeFileSync(tmp, Buffer.concat([readFileSync(file), Buffer.from(`\n/* holdfast prune benchmark, snapshot ${k} */\n`)]));
    renameSync(tmp, file);
    changed++;
  }
  return changed;
}

function dirSize(path: string): number {
  let total = 0;
  for (const e of readdirSync(path, { withFileTypes: true, recursive: true })) if (e.isFile()) total += statSync(join(e.parentPath, e.name)).size;
  return total;
}

function load(): string {
  return run('uptime', []).trim();
}

export interface PruneBenchResult {
  readonly restic: Measurement;
  readonly holdfast: Measurement;
  readonly sizes: { before: number; restic: number; holdfast: number };
}

export async function pruneBenchmark(): Promise<PruneBenchResult> {
  const tree = linuxTree();
  const work = join(benchRoot, 'prune');
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const src = join(work, 'linux');
  run('cp', ['-al', tree, src]);
  const all = files(src);
  const base = join(work, 'base');
  run('restic', ['-r', base, 'init']);
  console.error(`load before the backups: ${load()}`);
  for (let k = 1; k <= SNAPSHOTS; k++) {
    const changed = k === 1 ? 0 : churn(src, all, k);
    run('restic', ['-r', base, 'backup', '-q', '--host', 'bench', src]);
    console.error(`snapshot ${k}/${SNAPSHOTS}: ${changed} of ${all.length} files changed`);
  }
  const ids = (JSON.parse(run('restic', ['-r', base, 'snapshots', '--json'])) as Array<{ id: string; time: string }>)
    .sort((a, b) => (a.time < b.time ? -1 : 1))
    .map((s) => s.id);
  run('restic', ['-r', base, 'forget', ...ids.filter((_, i) => i % 2 === 0)]);

  // Both prune the same repository: two copies of it.
  const resticRepo = join(work, 'restic-repo');
  const holdfastRepo = join(work, 'holdfast-repo');
  run('cp', ['-a', base, resticRepo]);
  run('cp', ['-a', base, holdfastRepo]);
  const before = dirSize(base);
  await rm(base, { recursive: true, force: true });

  console.error(`load before restic prune: ${load()}`);
  const restic = await measure('restic', ['-r', resticRepo, 'prune'], env);
  console.error(`load before holdfast prune: ${load()}`);
  const holdfast = await measure(process.execPath, [holdfastMain, '-r', holdfastRepo, 'prune'], env);
  console.error(`load after: ${load()}`);
  run('restic', ['-r', holdfastRepo, 'check']);

  const sizes = { before, restic: dirSize(resticRepo), holdfast: dirSize(holdfastRepo) };
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  const wall = Number(ratio(holdfast.wallS, restic.wallS));
  const rss = Number(ratio(holdfast.maxRssMiB, restic.maxRssMiB));
  console.log(
    [
      `${SNAPSHOTS} snapshots, ${all.length} files, 10% churn, every other snapshot forgotten; repository ${mib(before)} MiB before the prune`,
      '',
      '| prune | restic | holdfast | ratio | target |',
      '|---|---|---|---|---|',
      `| wall s | ${restic.wallS.toFixed(2)} | ${holdfast.wallS.toFixed(2)} | ${wall.toFixed(2)} ${wall <= 1 ? '✓' : '✗'} | <= 1.0 |`,
      `| CPU s | ${restic.cpuS.toFixed(2)} | ${holdfast.cpuS.toFixed(2)} | ${ratio(holdfast.cpuS, restic.cpuS)} | |`,
      `| peak RSS MiB | ${restic.maxRssMiB.toFixed(0)} | ${holdfast.maxRssMiB.toFixed(0)} | ${rss.toFixed(2)} ${rss <= 1 ? '✓' : '✗'} | <= 1.0 |`,
      `| size after MiB | ${mib(sizes.restic)} | ${mib(sizes.holdfast)} | ${ratio(sizes.holdfast, sizes.restic)} | |`,
    ].join('\n'),
  );
  // restic's cache of this repository, named by its id, goes with it.
  const { id } = JSON.parse(run('restic', ['-r', resticRepo, 'cat', 'config'])) as { id: string };
  await rm(join(env.XDG_CACHE_HOME, 'restic', id), { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
  return { restic, holdfast, sizes };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await pruneBenchmark();
