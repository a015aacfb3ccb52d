// Turns a repository location as users write it (a path, or restic's `rest:` URL) into a backend.
// Each location kind maps to one Backend class; options that only some backends use are ignored by the rest.

import { resolve } from 'node:path';
import { invalidArgument } from '../errors.js';
import type { Backend } from './backend.js';
import { LocalBackend } from './local.js';
import { isRestLocation } from './rest-url.js';

export interface BackendOptions {
  /** PEM file of a certificate authority to trust for https (self-signed servers). */
  readonly caCertFile?: string | undefined;
  /** Parallel requests to a REST server (default 5, or HOLDFAST_REST_CONNECTIONS). */
  readonly connections?: number | undefined;
}

export async function openBackend(location: string, options: BackendOptions = {}): Promise<Backend> {
  if (isRestLocation(location)) {
    // Loaded on demand: the HTTP client takes longer to load than the rest of a local run's startup.
    const { RestBackend } = await import('./rest.js');
    return RestBackend.open(location, {
      connections: options.connections ?? connectionsFromEnv(),
      ...(options.caCertFile !== undefined ? { caCertFile: options.caCertFile } : {}),
    });
  }
  if (location.startsWith('local:')) return new LocalBackend(resolve(location.slice('local:'.length)));
  return new LocalBackend(resolve(location));
}

function connectionsFromEnv(): number | undefined {
  const text = process.env.HOLDFAST_REST_CONNECTIONS;
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 128) throw invalidArgument(`HOLDFAST_REST_CONNECTIONS must be a whole number from 1 to 128, not "${text}"`);
  return n;
}
