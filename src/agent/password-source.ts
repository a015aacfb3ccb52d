// Reads a plan's repository password from where the configuration says: a file, a command's
// output, or an environment variable of the agent. Nothing else, and never a prompt.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { HoldfastError, messageOf } from '../errors.js';
import type { PasswordSource } from './config-types.js';

const COMMAND_TIMEOUT_MS = 60_000;

function fromCommand(command: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { env, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout.trim());
      // Node's message quotes the command line, which may itself hold a secret: say only how it ended.
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
      const how = e.killed ? `did not finish within ${COMMAND_TIMEOUT_MS / 1000}s` : typeof e.code === 'number' ? `exited with code ${e.code}` : messageOf(err).split('\n')[0];
      const said = stderr.trim().split('\n')[0];
      reject(new HoldfastError('ERR_INVALID_ARGUMENT', `password-command ${how}${said ? `: ${said}` : ''}`));
    });
  });
}

export async function readPlanPassword(source: PasswordSource, env: NodeJS.ProcessEnv): Promise<string> {
  let password: string;
  switch (source.kind) {
    case 'file':
      try {
        password = (await readFile(source.file, 'utf8')).trim();
      } catch (err) {
        throw new HoldfastError('ERR_INVALID_ARGUMENT', `cannot read password-file ${source.file}: ${messageOf(err)}`);
      }
      break;
    case 'command':
      password = await fromCommand(source.command, env);
      break;
    case 'env': {
      const value = env[source.name];
      if (value === undefined) throw new HoldfastError('ERR_INVALID_ARGUMENT', `password-env: the environment variable ${source.name} is not set`);
      password = value;
      break;
    }
  }
  if (password === '') throw new HoldfastError('ERR_INVALID_ARGUMENT', `the password from ${source.kind === 'env' ? source.name : `password-${source.kind}`} is empty`);
  return password;
}
