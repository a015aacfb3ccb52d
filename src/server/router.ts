// Maps a raw request target to what it names. Nothing is decoded: every segment must match a strict
// pattern, so `..`, percent-escapes (`%2e%2e`, `%2f`), empty segments and odd names never reach a path.

import { type FileType, fileTypes } from '../backend/backend.js';
import { isClientName } from './client-name.js';

export type RepoTarget =
  | { readonly what: 'root'; readonly create: boolean }
  | { readonly what: 'config' }
  | { readonly what: 'list'; readonly type: FileType }
  | { readonly what: 'object'; readonly type: FileType; readonly name: string };

export type Route =
  /** `target` is null when the client segment is valid but the rest names nothing. */
  | { readonly kind: 'repo'; readonly client: string; readonly target: RepoTarget | null }
  | { readonly kind: 'admin'; readonly resource: string }
  | { readonly kind: 'metrics' }
  | { readonly kind: 'none' };

const objectName = /^[0-9a-f]{64}$/;
const adminResource = /^[a-z]+$/;

function isFileType(s: string): s is FileType {
  return (fileTypes as readonly string[]).includes(s);
}

export function route(rawUrl: string): Route {
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = q < 0 ? '' : rawUrl.slice(q + 1);
  if (!path.startsWith('/')) return { kind: 'none' };
  if (path === '/metrics') return { kind: 'metrics' };
  const seg = path.slice(1).split('/');
  if (seg[0] === '-') {
    return seg.length === 3 && seg[1] === 'admin' && adminResource.test(seg[2]!) ? { kind: 'admin', resource: seg[2]! } : { kind: 'none' };
  }
  const client = seg[0]!;
  if (!isClientName(client)) return { kind: 'none' };
  return { kind: 'repo', client, target: repoTarget(seg.slice(1), query) };
}

function repoTarget(seg: string[], query: string): RepoTarget | null {
  if (seg.length === 1 && seg[0] === '') return { what: 'root', create: query.split('&').includes('create=true') };
  if (seg.length === 1 && seg[0] === 'config') return { what: 'config' };
  if (seg.length !== 2 || !isFileType(seg[0]!)) return null;
  const [type, name] = [seg[0], seg[1]!];
  if (name === '') return { what: 'list', type };
  return objectName.test(name) ? { what: 'object', type, name } : null;
}
