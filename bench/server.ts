// Server benchmark: backups of the Linux source tree over loopback to a holdfast server against
// backups to a local repository, for holdfast and restic; then the server's memory with 8 clients.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, mkdir, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchRoot, linuxTree, warmCache } from './linux-tree.js';
import { type Measurement, measure } from './measure.js';

const holdfastMain = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const env = { HOLDFAST_PASSWORD: 'bench', RESTIC_PASSWORD: 'bench', XDG_CACHE_HOME: join(benchRoot, 'cache') };
const TICKS_PER_SECOND = 100;

/** Parts of the tree the eight concurrent clients back up, one each: 36 to 136 MiB apiece. */
const CLIENT_PARTS = ['drivers/net', 'fs', 'net', 'sound', 'include', 'Documentation', 'tools', 'arch/x86'];

/** The two targets: speed over the server relative to local, and the server's peak memory. */
const MIN_SPEED_RATIO = 0.8;
const MAX_SERVER_RSS_MB = 150;

interface ServerUse {
  readonly cpuS: number;
  readonly peakRssMiB: number;
}

export interface ServerStep {
  readonly name: string;
  readonly client: Measurement;
  /** The server's CPU and peak memory during the step (over-server steps only). */
  readonly server?: ServerUse;
}

export interface ServerBenchmarkResult {
  readonly steps: readonly ServerStep[];
  readonly speedRatio: { readonly holdfast: number; readonly restic: number };
  readonly concurrent: { readonly clients: number; readonly wallS: number; readonly server: ServerUse };
}

/** A `holdfast server` process on a fresh data directory with the given clients. */
class BenchServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly secrets: ReadonlyMap<string, string>,
  ) {}

  static async start(dataDir: string, clients: readonly string[]): Promise<BenchServer> {
    await rm(dataDir, { recursive: true, force: true });
    await run(process.execPath, [holdfastMain, 'server', 'init', '--data', dataDir]);
    const secrets = new Map<string, string>();
    for (const name of clients) {
      const out = await run(process.execPath, [holdfastMain, '--json', 'server', 'client', 'add', name, '--data', dataDir]);
      secrets.set(name, (JSON.parse(out) as { secret: string }).secret);
    }
    const child = spawn(process.execPath, [holdfastMain, 'server', '--data', dataDir, '--listen', '127.0.0.1:0', '--log', 'off', '--audit-every', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', () => reject(new Error(`the server did not start: ${stderr}`)));
    });
    return new BenchServer(child, port, secrets);
  }

  repo(client: string): string {
    return `rest:http://${client}:${this.secrets.get(client)}@127.0.0.1:${this.port}/${client}/`;
  }

  /** CPU seconds so far and the peak resident memory since the server started (VmHWM). */
  async use(): Promise<ServerUse> {
    const pid = this.child.pid!;
    const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return {
      // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the command name.
      cpuS: (Number(stat[11]) + Number(stat[12])) / TICKS_PER_SECOND,
      peakRssMiB: Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]) / 1024,
    };
  }

  async stop(): Promise<void> {
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** Runs a setup command (not measured) and returns its stdout. */
async function run(command: string, args: readonly string[]): Promise<string> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${code}): ${err.slice(-2000)}`);
  return out;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');

export async function serverBenchmark(): Promise<ServerBenchmarkResult> {
  const tree = linuxTree();
  const work = join(benchRoot, 'server');
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  console.error(`load average at the start: ${load()}`);
  warmCache(tree);

  const holdfast = (repo: string, ...args: string[]) => measure(process.execPath, [holdfastMain, '-r', repo, ...args], env);
  const restic = (repo: string, ...args: string[]) => measure('restic', ['-r', repo, ...args], env);
  const steps: ServerStep[] = [];

  const server = await BenchServer.start(join(work, 'data'), ['holdfast', 'restic']);
  const overServer = async (name: string, step: () => Promise<Measurement>) => {
    const before = await server.use();
    const client = await step();
    const after = await server.use();
    steps.push({ name, client, server: { cpuS: after.cpuS - before.cpuS, peakRssMiB: after.peakRssMiB } });
    console.error(`${name}: ${client.wallS}s`);
  };
  const local = async (name: string, step: () => Promise<Measurement>) => {
    steps.push({ name, client: await step() });
    console.error(`${name}: ${steps.at(-1)!.client.wallS}s`);
  };
  try {
    const localHoldfast = join(work, 'holdfast-repo');
    const localRestic = join(work, 'restic-repo');
    await holdfast(localHoldfast, 'init');
    await holdfast(server.repo('holdfast'), 'init');
    await restic(localRestic, 'init');
    await restic(server.repo('restic'), 'init');
    await local('holdfast → local repository', () => holdfast(localHoldfast, 'backup', '-q', tree));
    await overServer('holdfast → holdfast server', () => holdfast(server.repo('holdfast'), 'backup', '-q', tree));
    await local('restic → local repository', () => restic(localRestic, 'backup', '-q', tree));
    await overServer('restic → holdfast server', () => restic(server.repo('restic'), 'backup', '-q', tree));
  } finally {
    await server.stop();
  }

  // A fresh server, so that its peak memory is that of the concurrent uploads alone.
  const names = CLIENT_PARTS.map((_, i) => `client${i}`);
  const crowd = await BenchServer.start(join(work, 'data-concurrent'), names);
  let concurrent: ServerBenchmarkResult['concurrent'];
  try {
    // Even clients are holdfast, odd ones restic.
    const tool = (i: number) => (i % 2 === 0 ? holdfast : restic);
    for (const [i, name] of names.entries()) await tool(i)(crowd.repo(name), 'init');
    const before = await crowd.use();
    const started = Date.now();
    await Promise.all(names.map((name, i) => tool(i)(crowd.repo(name), 'backup', '-q', join(tree, CLIENT_PARTS[i]!))));
    const wallS = (Date.now() - started) / 1000;
    const after = await crowd.use();
    concurrent = { clients: names.length, wallS, server: { cpuS: after.cpuS - before.cpuS, peakRssMiB: after.peakRssMiB } };
  } finally {
    await crowd.stop();
  }
  console.error(`load average at the end: ${load()}`);

  const wall = (name: string) => steps.find((s) => s.name === name)!.client.wallS;
  const speedRatio = {
    holdfast: wall('holdfast → local repository') / wall('holdfast → holdfast server'),
    restic: wall('restic → local repository') / wall('restic → holdfast server'),
  };
  const result = { steps, speedRatio, concurrent };
  printTable(result);
  await rm(work, { recursive: true, force: true });
  return result;
}

function printTable(r: ServerBenchmarkResult): void {
  const mark = (ok: boolean) => (ok ? '✓' : '✗');
  const lines = [
    '| step | wall s | CPU s | peak RSS MiB | server CPU s | server peak RSS MiB |',
    '|---|---|---|---|---|---|',
    ...r.steps.map(
      (s) =>
        `| ${s.name} | ${s.client.wallS.toFixed(2)} | ${s.client.cpuS.toFixed(2)} | ${s.client.maxRssMiB.toFixed(0)} | ` +
        `${s.server ? s.server.cpuS.toFixed(2) : ''} | ${s.server ? s.server.peakRssMiB.toFixed(0) : ''} |`,
    ),
    `| ${r.concurrent.clients} clients at once (holdfast and restic, one part of the tree each) | ${r.concurrent.wallS.toFixed(2)} | | | ` +
      `${r.concurrent.server.cpuS.toFixed(2)} | ${r.concurrent.server.peakRssMiB.toFixed(0)} |`,
  ];
  const peakMB = (r.concurrent.server.peakRssMiB * 2 ** 20) / 1e6;
  lines.push(
    '',
    '| target | measured | |',
    '|---|---|---|',
    `| holdfast: speed over the server / local >= ${MIN_SPEED_RATIO} | ${r.speedRatio.holdfast.toFixed(2)} | ${mark(r.speedRatio.holdfast >= MIN_SPEED_RATIO)} |`,
    `| restic: speed over the server / local >= ${MIN_SPEED_RATIO} | ${r.speedRatio.restic.toFixed(2)} | ${mark(r.speedRatio.restic >= MIN_SPEED_RATIO)} |`,
    `| server peak RSS with ${r.concurrent.clients} clients < ${MAX_SERVER_RSS_MB} MB | ${peakMB.toFixed(0)} MB | ${mark(peakMB < MAX_SERVER_RSS_MB)} |`,
  );
  console.log(lines.join('\n'));
}
