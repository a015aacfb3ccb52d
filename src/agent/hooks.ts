// Runs a plan's before/after hook commands with the run's details in HOLDFAST_* variables, each
// with a timeout, logging what they print; the agent's own password variables are not passed on.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { LogSink } from './agent-log.js';
import type { Secrets } from './secrets.js';

/** Variables that carry passwords: a hook never sees them (it has the password file if it needs one). */
const SECRET_VARIABLES = ['HOLDFAST_PASSWORD', 'RESTIC_PASSWORD', 'HOLDFAST_REST_PASSWORD', 'RESTIC_REST_PASSWORD'];

export function hookEnvironment(base: NodeJS.ProcessEnv, hidden: readonly string[], vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const name of [...SECRET_VARIABLES, ...hidden]) delete env[name];
  return { ...env, ...vars };
}

export interface HookOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly log: LogSink;
  /** For log lines: `[plan] before hook 1`. */
  readonly label: string;
  readonly secrets: Secrets;
}

/** Runs one command with /bin/sh; resolves to undefined on success, else to what went wrong. */
function runHook(command: string, o: HookOptions): Promise<string | undefined> {
  return new Promise((resolve) => {
    // Its own process group, so a timeout ends the command's children too.
    const child = spawn('/bin/sh', ['-c', command], { env: o.env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, o.timeoutMs);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => o.log(`${o.label}: ${o.secrets.redact(line)}`));
    }
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(`cannot start: ${err.message}`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve(`timed out after ${Math.round(o.timeoutMs / 1000)}s`);
      else if (code === 0) resolve(undefined);
      else resolve(code === null ? `killed by ${signal}` : `exited with code ${code}`);
    });
  });
}

/**
 * Runs commands in order and returns their failures. Before hooks stop at the first failure (the
 * backup does not run, as its preparation failed); after hooks all run, each reporting on its own.
 */
export async function runHooks(kind: 'before' | 'after', commands: readonly string[], o: HookOptions): Promise<string[]> {
  const failures: string[] = [];
  for (const [i, command] of commands.entries()) {
    const failure = await runHook(command, { ...o, label: `${o.label} ${kind} hook ${i + 1}` });
    if (failure === undefined) continue;
    failures.push(`${kind} hook ${i + 1} (${o.secrets.redact(command)}) ${failure}`);
    if (kind === 'before') break;
  }
  return failures;
}
