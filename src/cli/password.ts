// Where the repository password comes from: --password-file, --password-command, the
// HOLDFAST_PASSWORD (or RESTIC_PASSWORD) environment variable, or a prompt on the terminal.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { openSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';
import { HoldfastError, messageOf } from '../errors.js';

export interface PasswordOptions {
  readonly passwordFile?: string | undefined;
  readonly passwordCommand?: string | undefined;
}

function env(name: string): string | undefined {
  return process.env[`HOLDFAST_${name}`] ?? process.env[`RESTIC_${name}`];
}

async function fromFile(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw new HoldfastError('ERR_INVALID_ARGUMENT', `cannot read password file ${path}: ${messageOf(err)}`);
  }
}

function fromCommand(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) reject(new HoldfastError('ERR_INVALID_ARGUMENT', `password command failed: ${messageOf(err).split('\n')[0]}`));
      else resolve(stdout.trim());
    });
  });
}

/** Reads a line from the controlling terminal without echoing it. */
export function promptHidden(question: string): Promise<string> {
  let input: ReadStream;
  let output: WriteStream;
  try {
    input = new ReadStream(openSync('/dev/tty', 'r'));
    output = new WriteStream(openSync('/dev/tty', 'w'));
  } catch {
    throw new HoldfastError(
      'ERR_INVALID_ARGUMENT',
      'no password given and no terminal to ask on: use --password-file, --password-command or HOLDFAST_PASSWORD',
    );
  }
  return new Promise((resolve, reject) => {
    output.write(question);
    input.setRawMode(true);
    let answer = '';
    const done = (err?: Error) => {
      input.setRawMode(false);
      input.removeAllListeners('data');
      input.destroy();
      output.write('\n');
      output.destroy();
      if (err) reject(err);
      else resolve(answer);
    };
    input.on('data', (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new HoldfastError('ERR_INTERRUPTED', 'interrupted'));
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
        else answer += ch;
      }
    });
  });
}

/** The password to open a repository with. */
export async function readPassword(opts: PasswordOptions): Promise<string> {
  const file = opts.passwordFile ?? env('PASSWORD_FILE');
  if (file) return fromFile(file);
  const command = opts.passwordCommand ?? env('PASSWORD_COMMAND');
  if (command) return fromCommand(command);
  const value = env('PASSWORD');
  if (value !== undefined) return value;
  return promptHidden('enter password for repository: ');
}

/** A password for a new key: from the same sources, or asked twice on the terminal. */
export async function readNewPassword(opts: PasswordOptions, what = 'new repository'): Promise<string> {
  const file = opts.passwordFile ?? env('PASSWORD_FILE');
  const command = opts.passwordCommand ?? env('PASSWORD_COMMAND');
  const value = file || command ? undefined : env('PASSWORD');
  let password: string;
  if (file || command || value !== undefined) {
    password = await readPassword(opts);
  } else {
    password = await promptHidden(`enter password for ${what}: `);
    const again = await promptHidden('enter password again: ');
    if (again !== password) throw new HoldfastError('ERR_INVALID_ARGUMENT', 'passwords do not match');
  }
  if (password.length === 0) throw new HoldfastError('ERR_INVALID_ARGUMENT', 'an empty password is not allowed');
  return password;
}
