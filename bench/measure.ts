// Runs one benchmark step as a child process under GNU time and reports wall time, CPU time and
// peak RSS, so holdfast and restic are measured the same way in the same run.

import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measurement {
  readonly wallS: number;
  readonly cpuS: number;
  readonly maxRssMiB: number;
  readonly stdout: string;
}

export async function measure(command: string, args: readonly string[], env: Record<string, string> = {}, cwd?: string): Promise<Measurement> {
  const stats = join(tmpdir(), `holdfast-bench-time-${process.pid}-${Date.now()}`);
  const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', stats, command, ...args], {
    env: { ...process.env, ...env },
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${code}): ${Buffer.concat(err).toString().slice(-2000)}`);
  const [wall, user, sys, rssKiB] = (await readFile(stats, 'utf8')).trim().split(/\s+/).map(Number);
  await rm(stats, { force: true });
  return { wallS: wall!, cpuS: user! + sys!, maxRssMiB: rssKiB! / 1024, stdout: Buffer.concat(out).toString() };
}

export function ratio(a: number, b: number): string {
  return b > 0 ? (a / b).toFixed(2) : 'n/a';
}
