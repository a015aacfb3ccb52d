// Runs the holdfast and restic commands as a user would, capturing exit code and output.
// Tests run compiled (dist/) in CI and from sources under tsx while developing; both work.

import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: Buffer;
}

export interface RunOptions {
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  readonly input?: string | Buffer;
}

const fromSources = import.meta.url.endsWith('.ts');
const mainPath = fileURLToPath(new URL(fromSources ? '../../src/cli/main.ts' : '../../src/cli/main.js', import.meta.url));

/**
 * Cheap KDF parameters keep tests fast; the interop tests still let restic calibrate its own.
 * The local cache goes to the temporary directory, not the home of whoever runs the tests.
 */
export const testEnv = {
  HOLDFAST_KDF: 'N=1024,r=8,p=1',
  HOLDFAST_PASSWORD: 'test-password',
  RESTIC_PASSWORD: 'test-password',
  HOLDFAST_CACHE_DIR: join(tmpdir(), 'holdfast-test-cache'),
};

export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...testEnv, CI: process.env.CI, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code: code ?? (signal ? 128 : 1), stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input);
  });
}

/** The command line that runs holdfast with `args`, for wrapping in another command. */
export function holdfastCommand(args: readonly string[]): string[] {
  return [process.execPath, ...(fromSources ? ['--import', 'tsx', mainPath] : [mainPath]), ...args];
}

export function holdfast(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [node, ...rest] = holdfastCommand(args);
  return run(node!, rest, options);
}

export function restic(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run('restic', ['--no-cache', ...args], options);
}

/** Like holdfast()/restic() but throws with the command's stderr when it fails. */
export async function ok(p: Promise<RunResult>): Promise<RunResult> {
  const r = await p;
  if (r.code !== 0) throw new Error(`command failed with exit code ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}
