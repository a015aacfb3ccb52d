// `holdfast server` as a child process on 127.0.0.1, for tests that must kill it (SIGKILL), start it
// again on the same port, or measure its memory apart from the test's own.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { addClient, type ClientSettings, initDataDir, setClient } from '../../src/server/accounts.js';
import { dataDir, repoDirOf } from '../../src/server/data-dir.js';
import { cliCommand } from '../server/harness.js';
import { tempDir } from './tmp.js';

export interface RequestLine {
  readonly client: string | null;
  readonly method: string;
  readonly kind: string;
  readonly status: number;
  readonly bytes: number;
}

export interface ServerProcessOptions {
  /** PEM certificate and key: the server speaks https. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

export class ServerProcess {
  private child: ChildProcess | null = null;
  private starts = 0;
  port = 0;

  private constructor(
    readonly root: string,
    private readonly options: ServerProcessOptions,
  ) {}

  /** Creates a data directory in a temp dir and starts the server on a free port; the test's end kills it. */
  static async start(t: TestContext, options: ServerProcessOptions = {}): Promise<ServerProcess> {
    const root = join(await tempDir(t, 'holdfast-server-process-'), 'data');
    await initDataDir(root);
    const s = new ServerProcess(root, options);
    // Registered before the temp dir's removal runs (after-hooks run last-in first-out).
    t.after(() => s.kill('SIGKILL'));
    await s.restart();
    return s;
  }

  get base(): string {
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    assert.ok(this.child?.pid, 'the server is running');
    return this.child.pid;
  }

  /** The request log of the n-th start (1-based; default the current one). */
  logFile(start = this.starts): string {
    return join(this.root, '..', `requests-${start}.log`);
  }

  repoDir(client: string): string {
    return repoDirOf(dataDir(this.root), client);
  }

  /** Adds a client and tells the running server (SIGHUP); returns the restic-style repository URL. */
  async addClient(name: string, settings: ClientSettings = {}): Promise<{ repo: string; secret: string }> {
    const c = await addClient(dataDir(this.root), name, settings);
    await this.reload();
    return { repo: `rest:${this.base.replace('://', `://${name}:${c.secret}@`)}/${name}/`, secret: c.secret };
  }

  async setClient(name: string, settings: ClientSettings): Promise<void> {
    await setClient(dataDir(this.root), name, settings);
    await this.reload();
  }

  /** Starts the server (again): the first time on a free port, afterwards on the same port. */
  async restart(): Promise<void> {
    assert.equal(this.child, null, 'the server is not running');
    this.starts++;
    const { cmd, args } = cliCommand();
    const tls = this.options.tls ? ['--tls-cert', this.options.tls.certFile, '--tls-key', this.options.tls.keyFile] : [];
    const child = spawn(
      cmd,
      [...args, 'server', '--data', this.root, '--listen', `127.0.0.1:${this.port}`, '--log', this.logFile(), '--audit-every', '0', ...tls],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'exit');
    const listening = new Promise<number>((resolve) => {
      child.stderr!.on('data', () => {
        const m = /listening on https?:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
    });
    const first = await Promise.race([listening, exited.then(() => null)]);
    if (first === null) {
      this.child = null;
      throw new Error(`the server did not start: ${stderr.trim()}`);
    }
    this.port = first;
  }

  /** Sends a signal and waits until the process is gone. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    }
  }

  /** Resident memory of the server process in bytes. */
  async rss(): Promise<number> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) * 1024;
  }

  /** The request records of one start's log (server events left out). */
  async requests(start = this.starts): Promise<RequestLine[]> {
    const text = await readFile(this.logFile(start), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as RequestLine & { event?: string })
      .filter((r) => r.event === undefined);
  }

  /** Account changes reach the running server at once with SIGHUP (its poll would take up to 2 s). */
  async reload(): Promise<void> {
    if (!this.child) return;
    const reloads = async () => (await readFile(this.logFile(), 'utf8').catch(() => '')).split('"accounts-reloaded"').length;
    const before = await reloads();
    this.child.kill('SIGHUP');
    // The reload is asynchronous: its record in the log says it is done.
    for (let i = 0; i < 400; i++) {
      if ((await reloads()) > before) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('the server did not reload its accounts');
  }
}
