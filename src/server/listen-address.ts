// `--listen` as rest-server takes it: `:8000`, `127.0.0.1:8000`, `[::1]:8000`, or a bare port.
// A missing host means every interface; port 0 asks the system for a free port (tests use it).

import { invalidArgument } from '../errors.js';

export interface ListenAddress {
  /** Undefined means every interface. */
  readonly host: string | undefined;
  readonly port: number;
}

export function parseListen(text: string): ListenAddress {
  const t = text.trim();
  const colon = t.lastIndexOf(':');
  let host = colon < 0 ? '' : t.slice(0, colon);
  const portText = colon < 0 ? t : t.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535 || /[[\]\s]/.test(host)) {
    throw invalidArgument(`invalid listen address "${text}": use e.g. :8000, 127.0.0.1:8000 or [::1]:8000`);
  }
  return { host: host || undefined, port };
}
