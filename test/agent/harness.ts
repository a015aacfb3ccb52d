// Support for the agent's end-to-end tests: a work folder with a repository, the agent as a child
// process, a webhook receiver on 127.0.0.1, and polling for outcomes. One after-hook cleans up in order.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { holdfast, ok, testEnv } from '../helpers/cli.js';

const fromSources = import.meta.url.endsWith('.ts');
const mainPath = fileURLToPath(new URL(fromSources ? '../../src/cli/main.ts' : '../../src/cli/main.js', import.meta.url));

export interface Webhook {
  readonly path: string;
  readonly body: Record<string, unknown> & { plan: string; job: string; result: string; trigger: string };
  readonly raw: string;
}

export interface AgentFixture {
  readonly dir: string;
  readonly repo: string;
  readonly src: string;
  readonly config: string;
  /** Bodies the receiver got, in order. */
  readonly webhooks: Webhook[];
  /** `http://127.0.0.1:PORT` */
  readonly receiver: string;
  /** Starts `holdfast agent` in the background; stopped (SIGTERM, then SIGKILL) after the test. */
  start(env?: Record<string, string>): AgentProcess;
  writeConfig(text: string): Promise<void>;
}

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

export async function agentFixture(t: TestContext): Promise<AgentFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-agent-'));
  const children: ChildProcess[] = [];
  const webhooks: Webhook[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      webhooks.push({ path: req.url ?? '', body: JSON.parse(raw) as Webhook['body'], raw });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });
  const src = join(dir, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  await writeFile(join(src, 'a.txt'), 'first file\n');
  await writeFile(join(src, 'sub', 'b.txt'), 'second file\n'.repeat(100));
  const repo = join(dir, 'repo');
  await ok(holdfast(['-r', repo, 'init']));
  const config = join(dir, 'agent.yaml');
  return {
    dir,
    repo,
    src,
    config,
    webhooks,
    receiver: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    writeConfig: (text) => writeFile(config, text),
    start(env = {}) {
      const node = fromSources ? ['--import', 'tsx', mainPath] : [mainPath];
      const child = spawn(process.execPath, [...node, 'agent', '--config', config], { env: { ...process.env, ...testEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let output = '';
      child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      return {
        child,
        output: () => output,
        stop: async () => {
          child.kill('SIGTERM');
          return exited;
        },
      };
    },
  };
}

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(200);
  }
}

/** `holdfast agent status --json` for the fixture's configuration. */
export async function agentStatus(f: AgentFixture): Promise<{
  agent: { running: boolean; pid: number | null };
  jobs: Array<{ plan: string; job: string; schedule: string | null; next_run: string | null; last: Webhook['body'] | null; last_success: string | null }>;
}> {
  return JSON.parse((await ok(holdfast(['agent', 'status', '--config', f.config, '--json']))).stdout);
}
