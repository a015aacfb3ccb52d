// Test support for the server: a real HoldfastServer on 127.0.0.1 with a temp data directory,
// clients, restic runs with their own cache, raw HTTP requests, generated trees and disk listings.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { addClient, type ClientSettings, initDataDir } from '../../src/server/accounts.js';
import { dataDir, type DataDir, repoDirOf } from '../../src/server/data-dir.js';
import { HoldfastServer, type ServerOptions } from '../../src/server/server.js';
import { tempDir } from '../helpers/tmp.js';

export interface TestServer {
  readonly server: HoldfastServer;
  readonly root: string;
  readonly data: DataDir;
  /** `http://127.0.0.1:PORT` (https with TLS). */
  readonly base: string;
  readonly adminSecret: string;
  readonly logFile: string;
  /** Adds a client and returns its secret and restic repository URL. */
  addClient(name: string, settings?: ClientSettings): Promise<{ secret: string; repo: string }>;
  repoDir(name: string): string;
}

/**
 * Starts a server on 127.0.0.1 with a fresh data directory (or `dataRoot`, which the caller owns).
 * One after-hook stops the server and only then removes its files.
 */
export async function startServer(t: TestContext, options: Partial<ServerOptions> = {}, dataRoot?: string): Promise<TestServer> {
  const root = await mkdtemp(join(tmpdir(), 'holdfast-server-'));
  let server: HoldfastServer | null = null;
  t.after(async () => {
    // No grace: whatever a test left open is cut, and the handlers' cleanup is awaited.
    await server?.close(0);
    await rm(root, { recursive: true, force: true });
  });
  dataRoot ??= join(root, 'data');
  const init = await initDataDir(dataRoot);
  const logFile = join(root, 'requests.log');
  server = await HoldfastServer.start({ dataDir: dataRoot, host: '127.0.0.1', port: 0, log: logFile, auditEveryMs: 0, ...options });
  const base = `${options.tls ? 'https' : 'http'}://127.0.0.1:${server.port}`;
  const data = dataDir(dataRoot);
  const running = server;
  return {
    server: running,
    root,
    data,
    base,
    adminSecret: init.adminSecret!,
    logFile,
    async addClient(name, settings = {}) {
      const c = await addClient(data, name, settings);
      await running.reloadAccounts();
      return { secret: c.secret, repo: `rest:${base.replace('://', `://${name}:${c.secret}@`)}/${name}/` };
    },
    repoDir: (name) => repoDirOf(data, name),
  };
}

export function basic(user: string, secret: string): string {
  return `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export async function http(
  url: string,
  o: { method?: 'GET' | 'HEAD' | 'POST' | 'DELETE' | 'PUT'; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<HttpAnswer> {
  const res = await request(url, { method: o.method ?? 'GET', headers: o.headers ?? {}, ...(o.body !== undefined ? { body: o.body } : {}) });
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(c as Buffer);
  return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to its end; a test's end kills it if it is still running. */
export function run(t: TestContext, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<RunResult> {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // A program that exits without reading its input must not fail the test with EPIPE.
  child.stdin.on('error', () => undefined);
  child.stdin.end(input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** restic with a password and a cache inside the test's temp directory. */
export async function resticRunner(t: TestContext, extraEnv: NodeJS.ProcessEnv = {}) {
  const home = await tempDir(t, 'holdfast-restic-');
  const env = { RESTIC_PASSWORD: 'correct horse', RESTIC_CACHE_DIR: join(home, 'cache'), HOME: home, ...extraEnv };
  return (args: readonly string[]) => run(t, 'restic', args, env);
}

/** Fails the test with restic's own words when it did not succeed. */
export function expectOk(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r;
}

/** A deterministic pseudo-random tree: nested directories, small and large files, an empty file. */
export async function makeTree(dir: string, seed: string, files = 12, largest = 3 * 1024 * 1024): Promise<void> {
  let state = createHash('sha256').update(seed).digest();
  const bytes = (n: number) => {
    const out = Buffer.allocUnsafe(n);
    for (let pos = 0; pos < n; pos += 32) {
      state = createHash('sha256').update(state).digest();
      state.copy(out, pos, 0, Math.min(32, n - pos));
    }
    return out;
  };
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${i % 3}`, i % 2 ? 'deep' : '');
    await mkdir(sub, { recursive: true });
    const size = i === 0 ? 0 : i === 1 ? largest : (state[0]! * 997 + i * 7919) % (256 * 1024);
    await writeFile(join(sub, `f${i}.bin`), bytes(size));
  }
}

/** Every regular file under a directory, as relative paths, sorted. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Map of relative path → SHA-256 of every file, for comparing a restore with its source. */
export async function treeDigest(dir: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const f of await filesUnder(dir)) m.set(f, sha256(await readFile(join(dir, f))));
  return m;
}

/**
 * Retries an assertion until it holds or `limitMs` passes. For effects that follow a connection's
 * end asynchronously (a handler removing its temp file after the client is gone).
 */
export async function eventually(check: () => Promise<void>, limitMs = 5000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** How to start the holdfast CLI from tests, whether they run from TypeScript sources or compiled. */
export function cliCommand(): { cmd: string; args: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const main = fileURLToPath(new URL(`../../src/cli/main.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  return { cmd: process.execPath, args: fromSource ? ['--import', 'tsx', main] : [main] };
}
