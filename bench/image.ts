// Image backup benchmark (issue targets): a 4 GiB ext4 image ~30% full of the Linux source, backed up
// by `dd | restic backup --stdin` and `holdfast backup --image`, then 1% of its files changed through
// qemu-nbd (tracked by a qcow2 dirty bitmap) and backed up again three ways; restores compared last.
// A second image whose free space holds old data, as a used disk's does, repeats the full backups.
// Run alone: node dist/bench/image.js   (root; restic, qemu-img, qemu-nbd, nbdfuse, mkfs.ext4)

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchRoot, linuxTree } from './linux-tree.js';
import { type Measurement, measure, ratio } from './measure.js';

const holdfastMain = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const env = { HOLDFAST_PASSWORD: 'bench', RESTIC_PASSWORD: 'bench', XDG_CACHE_HOME: join(benchRoot, 'cache') };
const IMAGE_BYTES = 4 * 2 ** 30;

interface Row {
  readonly name: string;
  readonly m: Measurement;
}

function sh(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** Undo steps run last-in first-out whatever happens, so no mount, loop device or server outlives the run. */
class Undo {
  private readonly steps: Array<() => void> = [];
  push(step: () => void): void {
    this.steps.push(step);
  }
  runAll(): void {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        step();
      } catch (err) {
        console.error(`cleanup: ${(err as Error).message}`);
      }
    }
  }
}

function mountImage(undo: Undo, file: string, dir: string): () => void {
  const loop = sh('losetup', '--find', '--show', file).trim();
  let attached = true;
  const detach = () => {
    if (attached) sh('losetup', '-d', loop);
    attached = false;
  };
  undo.push(detach);
  // noinit_itable: the kernel would otherwise zero inode tables in the background, writing blocks.
  sh('mount', '-o', 'noinit_itable', loop, dir);
  let mounted = true;
  const unmount = () => {
    if (mounted) sh('umount', dir);
    mounted = false;
  };
  undo.push(unmount);
  return () => {
    unmount();
    detach();
  };
}

/** Regular files under `root` in name order. */
function filesOf(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory()) visit(join(dir, e.name));
      else if (e.isFile()) out.push(join(dir, e.name));
    }
  };
  visit(root);
  return out;
}

/** Fills a file with a pseudo-random stream: old data that neither compresses nor deduplicates. */
async function oldData(path: string, bytes: number): Promise<void> {
  const stream = createCipheriv('aes-128-ctr', Buffer.alloc(16, 1), Buffer.alloc(16));
  const zero = Buffer.alloc(8 << 20);
  const fh = await open(path, 'w');
  try {
    for (let at = 0; at < bytes; at += zero.length) await fh.write(stream.update(zero), 0, Math.min(zero.length, bytes - at), at);
  } finally {
    await fh.close();
  }
}

/**
 * A 4 GiB ext4 image holding the Linux source tree (or generated files when it is not installed).
 * Fresh, its free space is zeros (holes); aged, it holds old data there.
 */
async function buildImage(undo: Undo, work: string, name: string, aged: boolean): Promise<string> {
  const image = join(work, name);
  const mnt = join(work, 'mnt');
  await mkdir(mnt, { recursive: true });
  if (aged) await oldData(image, IMAGE_BYTES);
  else sh('truncate', '-s', String(IMAGE_BYTES), image);
  sh('mkfs.ext4', '-q', '-F', '-E', 'nodiscard,lazy_itable_init=0,lazy_journal_init=0', image);
  const done = mountImage(undo, image, mnt);
  let tree: string | undefined;
  try {
    tree = linuxTree();
  } catch (err) {
    console.error(`${(err as Error).message}; using generated files instead`);
  }
  if (tree !== undefined) sh('cp', '-a', tree, join(mnt, 'linux'));
  else {
    for (let d = 0; d < 300; d++) {
      const dir = join(mnt, 'gen', `d${d}`);
      await mkdir(dir, { recursive: true });
      for (let f = 0; f < 250; f++) await appendFile(join(dir, `f${f}.c`), `/* file ${d}/${f} */\n`.repeat(300 + ((d * 7 + f * 13) % 2000)));
    }
  }
  done();
  return image;
}

/** Changes 1% of the files, the first ones in name order (real changes cluster in a few directories). */
async function changeOnePercent(root: string): Promise<number> {
  const files = filesOf(root);
  const picked = files.slice(0, Math.ceil(files.length / 100));
  for (const f of picked) await appendFile(f, '/* changed by the holdfast image benchmark */\n');
  return picked.length;
}

async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 500 && !existsSync(path); i++) await sleep(20);
  if (!existsSync(path)) throw new Error(`${path} did not appear`);
}

/** Starts qemu-nbd on a Unix socket; the undo step stops it with SIGTERM so it writes its bitmaps back. */
async function qemuNbd(undo: Undo, work: string, name: string, args: string[]): Promise<{ uri: string; stop: () => Promise<void> }> {
  const socket = join(work, `${name}.sock`);
  const pidFile = join(work, `${name}.pid`);
  await rm(pidFile, { force: true });
  const child = spawn('qemu-nbd', ['--persistent', '-k', socket, `--pid-file=${pidFile}`, ...args], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  const stop = async () => {
    if (!running) return;
    running = false;
    child.kill('SIGTERM');
    await exited;
  };
  undo.push(() => {
    if (running) child.kill('SIGTERM');
  });
  await waitFor(pidFile);
  return { uri: `nbd+unix:///?socket=${socket}`, stop };
}

/** Makes the 1% change inside the qcow2 through qemu-nbd, nbdfuse and a loop mount, as a VM's writes would arrive. */
async function changeThroughNbd(undo: Undo, work: string, qcow2: string): Promise<number> {
  const server = await qemuNbd(undo, work, 'writer', ['-f', 'qcow2', qcow2]);
  const fuse = join(work, 'fuse');
  await mkdir(fuse, { recursive: true });
  const nbdfuse = spawn('nbdfuse', [join(fuse, 'disk'), server.uri], { stdio: 'ignore' });
  const fuseExited = new Promise<void>((resolve) => nbdfuse.once('exit', () => resolve()));
  undo.push(() => spawnSync('fusermount', ['-u', fuse]));
  await waitFor(join(fuse, 'disk'));
  const mnt = join(work, 'mnt');
  const done = mountImage(undo, join(fuse, 'disk'), mnt);
  const changed = await changeOnePercent(join(mnt, existsSync(join(mnt, 'linux')) ? 'linux' : 'gen'));
  done();
  sh('fusermount', '-u', fuse);
  await fuseExited;
  await server.stop();
  return changed;
}

function warm(file: string): void {
  spawnSync('sh', ['-c', `cat "${file}" > /dev/null`]);
}

function printTable(rows: Row[]): void {
  console.log('| step | wall s | CPU s | peak RSS MiB |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${r.m.wallS.toFixed(2)} | ${r.m.cpuS.toFixed(2)} | ${r.m.maxRssMiB.toFixed(0)} |`);
}

interface Summary {
  blocks_read: number;
  blocks_changed: number;
  bytes_read: number;
  /** Seconds inside the backup itself: without process start, key derivation and locking. */
  total_duration: number;
}

/** The summary line of a `holdfast --json backup` run. */
function summaryOf(m: Measurement): Summary {
  return JSON.parse(m.stdout.trim().split('\n').at(-1)!) as Summary;
}

export async function imageBenchmark(): Promise<Row[]> {
  const work = join(benchRoot, 'image');
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const undo = new Undo();
  const rows: Row[] = [];
  const notes: string[] = [];
  const load = () => sh('uptime').trim();
  const step = async (name: string, run: () => Promise<Measurement>) => {
    const m = await run();
    rows.push({ name, m });
    console.error(`${name}: ${m.wallS}s wall, ${m.cpuS.toFixed(2)}s CPU, ${m.maxRssMiB.toFixed(0)} MiB`);
    return m;
  };
  const holdfast = (repo: string, ...args: string[]) => measure(process.execPath, [holdfastMain, '-r', repo, ...args], env);
  const resticStdin = (repo: string, file: string) =>
    measure('sh', ['-c', `dd if="${file}" bs=4M status=none | restic -r "${repo}" backup -q --stdin --stdin-filename linux.img`], env);
  try {
    notes.push(`load before: ${load()}`);
    const image = await buildImage(undo, work, 'linux.img', false);
    const allocated = Number(sh('du', '-B1', image).split('\t')[0]);
    const resticRepo = join(work, 'restic-repo');
    const holdfastRepo = join(work, 'holdfast-repo');
    const dirtyRepo = join(work, 'holdfast-dirty-repo');
    await measure('restic', ['-r', resticRepo, 'init'], env);
    await holdfast(holdfastRepo, 'init');

    warm(image);
    const rFull = await step('restic: dd | backup --stdin (full)', () => resticStdin(resticRepo, image));
    warm(image);
    const hFull = await step('holdfast: backup --image (full)', () => holdfast(holdfastRepo, '--json', 'backup', '--image', image, '--name', 'linux'));
    const full = summaryOf(hFull);
    // The dirty-bitmap run gets a repository with only the full backup, so it stores its changes itself.
    sh('cp', '-a', holdfastRepo, dirtyRepo);

    const qcow2 = join(work, 'linux.qcow2');
    sh('qemu-img', 'convert', '-O', 'qcow2', image, qcow2);
    sh('qemu-img', 'bitmap', '--add', qcow2, 'b0');
    const changed = await changeThroughNbd(undo, work, qcow2);
    const image2 = join(work, 'linux-changed.img');
    sh('qemu-img', 'convert', '-O', 'raw', qcow2, image2);

    warm(image2);
    const rIncr = await step('restic: dd | backup --stdin (after 1% changed)', () => resticStdin(resticRepo, image2));
    warm(image2);
    const hChecksum = await step('holdfast: backup --image, checksum incremental', () =>
      holdfast(holdfastRepo, '--json', 'backup', '--image', image2, '--name', 'linux'),
    );
    warm(qcow2);
    const reader = await qemuNbd(undo, work, 'reader', ['-r', '-f', 'qcow2', '-B', 'b0', qcow2]);
    const hDirty = await step('holdfast: backup --image --dirty-bitmap (via qemu-nbd)', () =>
      holdfast(dirtyRepo, '--json', 'backup', '--image', reader.uri, '--name', 'linux', '--dirty-bitmap', 'b0'),
    );
    await reader.stop();
    const dirty = summaryOf(hDirty);

    const rRestore = await step('restic: restore (4 GiB image)', () => measure('restic', ['-r', resticRepo, 'restore', 'latest', '--target', join(work, 'restic-restore')], env));
    const hRestore = await step('holdfast: restore-image', () => holdfast(holdfastRepo, 'restore-image', 'latest:linux', '--target', join(work, 'holdfast-restore.img')));
    const same = (a: string, b: string) => spawnSync('cmp', ['-s', a, b]).status === 0;
    const correct = same(join(work, 'holdfast-restore.img'), image2) && same(join(work, 'restic-restore', 'linux.img'), image2);
    for (const f of ['restic-restore', 'holdfast-restore.img', 'linux.qcow2', 'linux-changed.img', 'linux.img']) await rm(join(work, f), { recursive: true, force: true });

    const aged = await buildImage(undo, work, 'aged.img', true);
    const agedRestic = join(work, 'aged-restic-repo');
    const agedHoldfast = join(work, 'aged-holdfast-repo');
    await measure('restic', ['-r', agedRestic, 'init'], env);
    await holdfast(agedHoldfast, 'init');
    warm(aged);
    const rAged = await step('aged image: restic dd | backup --stdin (full)', () => resticStdin(agedRestic, aged));
    warm(aged);
    const hAged = await step('aged image: holdfast backup --image (full)', () => holdfast(agedHoldfast, '--json', 'backup', '--image', aged, '--name', 'linux'));
    notes.push(`load after: ${load()}`);

    console.log(`image: 4 GiB ext4 with the Linux 6.1 source, ${(allocated / 2 ** 30).toFixed(2)} GiB allocated; ${full.blocks_read} of 4096 1-MiB blocks in use`);
    console.log(`change: ${changed} files (1%, the first in name order) appended to through qemu-nbd; the dirty bitmap marked ${dirty.blocks_read} blocks to read, ${dirty.blocks_changed} changed`);
    console.log(`aged image: the same, but its free space held old (random) data before mkfs, as on a used disk`);
    for (const n of notes) console.log(n);
    printTable(rows);
    console.log('');
    console.log(`full image backup, holdfast/restic: ${ratio(hFull.wallS, rFull.wallS)} (target <= 0.5)`);
    console.log(`full image backup of the aged image, holdfast/restic: ${ratio(hAged.wallS, rAged.wallS)} (target <= 0.5)`);
    console.log(`checksum incremental, holdfast/restic stdin: ${ratio(hChecksum.wallS, rIncr.wallS)}`);
    console.log(`dirty-bitmap incremental / holdfast full: ${ratio(hDirty.wallS, hFull.wallS)} (target <= 0.05)`);
    console.log(
      `  the same without the fixed cost of a run (start, key, lock): ${dirty.total_duration.toFixed(2)}s / ${full.total_duration.toFixed(2)}s = ${ratio(dirty.total_duration, full.total_duration)}`,
    );
    console.log(`restore, holdfast/restic: ${ratio(hRestore.wallS, rRestore.wallS)} (target <= 0.8)`);
    console.log(`restored images identical to the source: ${correct ? 'yes' : 'NO'}`);
  } finally {
    undo.runAll();
    if (!process.env.HOLDFAST_BENCH_KEEP) await rm(work, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await imageBenchmark();
