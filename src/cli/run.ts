// How a command ends: results and errors become one line on stderr and restic's exit codes.
// A user error never shows a stack; an unexpected one shows it only with HOLDFAST_DEBUG.

import { ExitCode, HoldfastError } from '../errors.js';

export function handleFatal(err: unknown): void {
  if (err instanceof HoldfastError) {
    process.stderr.write(`holdfast: ${err.message}\n`);
    process.exitCode = err.exitCode;
    return;
  }
  const e = err as { code?: string; message?: string; stack?: string };
  if (typeof e?.code === 'string' && e.code.startsWith('commander.')) {
    // commander already printed its message.
    process.exitCode = ExitCode.fatal;
    return;
  }
  process.stderr.write(`holdfast: ${e?.message ?? String(err)}\n`);
  if (process.env.HOLDFAST_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  process.exitCode = ExitCode.fatal;
}

/** Wraps a command's action so that its errors end the process the same way everywhere. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number' && code !== 0) process.exitCode = code;
    } catch (err) {
      handleFatal(err);
    }
  };
}
