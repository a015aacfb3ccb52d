// Parses restic's `rest:http(s)://user:secret@host:port/path/` locations. Credentials may also come
// from the environment; the displayed location never contains the secret.

import { invalidArgument } from '../errors.js';

export interface RestLocation {
  /** `http://host:port` */
  readonly origin: string;
  /** The repository path, always ending in `/`. */
  readonly basePath: string;
  readonly user: string | null;
  readonly secret: string | null;
  /** For messages: the location with the secret replaced by `***`. */
  readonly display: string;
}

export function isRestLocation(location: string): boolean {
  return location.startsWith('rest:');
}

export function parseRestLocation(location: string, env: NodeJS.ProcessEnv = process.env): RestLocation {
  const raw = location.slice('rest:'.length);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalidArgument(`invalid REST location "${redact(location)}": use rest:https://user:secret@host:port/path/`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalidArgument(`REST location must use http or https, not ${u.protocol}`);
  if (u.search || u.hash) throw invalidArgument('a REST location takes no query or fragment');
  const fromUrl = u.username !== '';
  const user = fromUrl ? decodeURIComponent(u.username) : (env.HOLDFAST_REST_USER ?? env.RESTIC_REST_USERNAME ?? null);
  const secret = fromUrl ? decodeURIComponent(u.password) || null : (env.HOLDFAST_REST_PASSWORD ?? env.RESTIC_REST_PASSWORD ?? null);
  const basePath = u.pathname.endsWith('/') ? u.pathname : `${u.pathname}/`;
  const who = user === null ? '' : `${encodeURIComponent(user)}${secret === null ? '' : ':***'}@`;
  return { origin: u.origin, basePath, user, secret, display: `rest:${u.protocol}//${who}${u.host}${basePath}` };
}

/** Hides the user-info of a URL-like string, for messages about locations that failed to parse. */
function redact(location: string): string {
  return location.replace(/\/\/[^/@]*@/, '//***@');
}
