// Client names: the first path segment of every repository URL, a directory name on disk and the
// Basic-auth user, so they are restricted to characters that are safe in all three places.

import { invalidArgument } from '../errors.js';

const clientNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `admin` authenticates the admin API; `metrics` would shadow the /metrics endpoint. */
const reserved = new Set(['admin', 'metrics']);

export function isClientName(name: string): boolean {
  return clientNamePattern.test(name) && !reserved.has(name.toLowerCase());
}

export function checkClientName(name: string): void {
  if (!isClientName(name)) {
    throw invalidArgument(
      `invalid client name "${name}": use 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit (not "admin" or "metrics")`,
    );
  }
}
