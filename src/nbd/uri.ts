// NBD URIs (nbd://host:port/export, nbd+unix:///export?socket=PATH) per the NBD URI spec:
// parsing into an endpoint and an export name, and formatting one back for messages.

import { HoldfastError, invalidArgument } from '../errors.js';
import { NBD_DEFAULT_PORT } from './constants.js';

export type NbdEndpoint = { host: string; port: number } | { socket: string };

export interface NbdUri {
  endpoint: NbdEndpoint;
  /** The URI path without its leading '/', percent-decoded; '' names the default export. */
  exportName: string;
}

export function parseNbdUri(text: string): NbdUri {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidArgument(
      `${JSON.stringify(text)} is not an NBD URI (expected nbd://HOST[:PORT]/EXPORT or nbd+unix:///EXPORT?socket=PATH)`,
    );
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'nbds' || scheme === 'nbds+unix') {
    throw new HoldfastError('ERR_UNSUPPORTED', `${text}: NBD over TLS (${scheme}://) is not supported; use nbd:// or nbd+unix://`);
  }
  if (scheme !== 'nbd' && scheme !== 'nbd+unix') {
    throw invalidArgument(`${text}: unsupported URI scheme ${scheme}:// (expected nbd:// or nbd+unix://)`);
  }
  let socket: string | undefined;
  for (const [key, value] of url.searchParams) {
    if (key === 'socket') socket = value;
    else if (key.startsWith('tls-')) throw new HoldfastError('ERR_UNSUPPORTED', `${text}: NBD over TLS (${key}) is not supported`);
    else if (!key.startsWith('x-')) throw invalidArgument(`${text}: unknown NBD URI parameter ${key}`);
  }
  const exportName = decodePath(url.pathname, text);

  if (scheme === 'nbd+unix') {
    if (url.host !== '') throw invalidArgument(`${text}: nbd+unix:// URIs take no host; write nbd+unix:///EXPORT?socket=PATH`);
    if (socket === undefined || socket === '') throw invalidArgument(`${text}: nbd+unix:// needs a socket=PATH parameter`);
    return { endpoint: { socket }, exportName };
  }
  if (socket !== undefined) throw invalidArgument(`${text}: the socket parameter belongs to nbd+unix:// URIs`);
  if (url.hostname === '') throw invalidArgument(`${text}: nbd:// needs a host`);
  // WHATWG URL keeps the brackets of an IPv6 literal; sockets want the bare address.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { endpoint: { host, port: url.port === '' ? NBD_DEFAULT_PORT : Number(url.port) }, exportName };
}

function decodePath(pathname: string, text: string): string {
  try {
    return decodeURIComponent(pathname.replace(/^\//, ''));
  } catch {
    throw invalidArgument(`${text}: the export name is not valid percent-encoding`);
  }
}

/** The URI of an export, used to say where an error happened. */
export function formatNbdUri(uri: NbdUri): string {
  const path = encodeURIComponent(uri.exportName).replace(/%2F/gi, '/');
  if ('socket' in uri.endpoint) {
    const socket = encodeURIComponent(uri.endpoint.socket).replace(/%2F/gi, '/');
    return `nbd+unix:///${path}?socket=${socket}`;
  }
  const host = uri.endpoint.host.includes(':') ? `[${uri.endpoint.host}]` : uri.endpoint.host;
  const port = uri.endpoint.port === NBD_DEFAULT_PORT ? '' : `:${uri.endpoint.port}`;
  return `nbd://${host}${port}/${path}`;
}
