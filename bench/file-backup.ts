// File backup benchmark (issue targets): holdfast and restic 0.14 side by side on the Linux source
// tree, each step timed (wall, CPU, peak RSS), with ratios holdfast/restic.

import { spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchRoot, linuxTree, warmCache } from './linux-tree.js';
import { type Measurement, measure, ratio } from './measure.js';
import { restoreTarget, unmountLeftover } from './restore-target.js';

const holdfastMain = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const env = { HOLDFAST_PASSWORD: 'bench', RESTIC_PASSWORD: 'bench', XDG_CACHE_HOME: join(benchRoot, 'cache') };

interface Step {
  readonly name: string;
  readonly target: number;
  readonly restic: Measurement;
  readonly holdfast: Measurement;
}

function flushWrites(): void {
  spawnSync('sync');
}

function dirSize(path: string): number {
  let total = 0;
  for (const e of readdirSync(path, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += statSync(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).size;
  }
  return total;
}

/** The first `n` C files of the tree in name order: the same files on every run. */
function someFiles(tree: string, n: number): string[] {
  const files: string[] = [];
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (files.length >= n) return;
      if (e.isDirectory()) visit(join(dir, e.name));
      else if (e.name.endsWith('.c')) files.push(join(dir, e.name));
    }
  };
  visit(tree);
  return files;
}

export async function fileBackupBenchmark(): Promise<Step[]> {
  const tree = linuxTree();
  const work = join(benchRoot, 'file-backup');
  unmountLeftover(work);
  await rm(work, { recursive: true, force: true });
  // Fresh repositories: restic's cache for them starts empty (a new repository id), so does ours.
  await rm(join(env.XDG_CACHE_HOME, 'holdfast'), { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const resticRepo = join(work, 'restic-repo');
  const holdfastRepo = join(work, 'holdfast-repo');
  const restic = (...args: string[]) => measure('restic', ['-r', resticRepo, ...args], env);
  const holdfast = (...args: string[]) => measure(process.execPath, [holdfastMain, '-r', holdfastRepo, ...args], env);

  await restic('init');
  await holdfast('init');
  warmCache(tree);
  const steps: Step[] = [];
  const step = async (name: string, target: number, r: () => Promise<Measurement>, h: () => Promise<Measurement>) => {
    // Each tool starts with nothing of the other's left to write back: a restore leaves 1.5 GB.
    flushWrites();
    const restic = await r();
    flushWrites();
    const holdfast = await h();
    steps.push({ name, target, restic, holdfast });
    console.error(`${name}: restic ${restic.wallS}s, holdfast ${holdfast.wallS}s (${ratio(holdfast.wallS, restic.wallS)})`);
  };

  await step('first backup', 0.8, () => restic('backup', '-q', tree), () => holdfast('backup', '-q', tree));
  await step('backup, nothing changed', 0.6, () => restic('backup', '-q', tree), () => holdfast('backup', '-q', tree));
  for (const f of someFiles(tree, 100)) appendFileSync(f, '/* appended by the holdfast benchmark */\n');
  await step('backup after appending to 100 files', 0.6, () => restic('backup', '-q', tree), () => holdfast('backup', '-q', tree));
  const restoreInto = async (tool: 'restic' | 'holdfast', restore: (target: string) => Promise<Measurement>) => {
    const fs = await restoreTarget(work, tool);
    console.error(`${tool} restores to ${fs.kind}`);
    try {
      return await restore(join(fs.dir, 'target'));
    } finally {
      await fs.release();
    }
  };
  await step(
    'full restore',
    0.8,
    () => restoreInto('restic', (target) => restic('restore', 'latest', '--target', target)),
    () => restoreInto('holdfast', (target) => holdfast('restore', 'latest', '--target', target)),
  );
  await step('check --read-data', 1.0, () => restic('check', '--read-data'), () => holdfast('check', '--read-data'));
  const sizes = { restic: dirSize(resticRepo), holdfast: dirSize(holdfastRepo) };
  printTable(steps, sizes);
  await rm(work, { recursive: true, force: true });
  return steps;
}

function printTable(steps: readonly Step[], sizes: { restic: number; holdfast: number }): void {
  const lines = [
    '| step | restic wall s | holdfast wall s | ratio | target | restic CPU s | holdfast CPU s | restic RSS MiB | holdfast RSS MiB |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of steps) {
    const r = Number(ratio(s.holdfast.wallS, s.restic.wallS));
    lines.push(
      `| ${s.name} | ${s.restic.wallS.toFixed(2)} | ${s.holdfast.wallS.toFixed(2)} | ${r.toFixed(2)} ${r <= s.target ? '✓' : '✗'} | <= ${s.target} | ` +
        `${s.restic.cpuS.toFixed(2)} | ${s.holdfast.cpuS.toFixed(2)} | ${s.restic.maxRssMiB.toFixed(0)} | ${s.holdfast.maxRssMiB.toFixed(0)} |`,
    );
  }
  const sizeRatio = sizes.holdfast / sizes.restic;
  lines.push(`| repository size (MiB) | ${(sizes.restic / 2 ** 20).toFixed(1)} | ${(sizes.holdfast / 2 ** 20).toFixed(1)} | ${sizeRatio.toFixed(3)} ${sizeRatio <= 1.02 ? '✓' : '✗'} | <= 1.02 | | | | |`);
  const peak = (k: 'restic' | 'holdfast') => Math.max(...steps.map((s) => s[k].maxRssMiB));
  const rssRatio = peak('holdfast') / peak('restic');
  lines.push(`| peak RSS (MiB) | ${peak('restic').toFixed(0)} | ${peak('holdfast').toFixed(0)} | ${rssRatio.toFixed(2)} ${rssRatio <= 1.5 ? '✓' : '✗'} | <= 1.5 | | | | |`);
  console.log(lines.join('\n'));
}
