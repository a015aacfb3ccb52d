// Compares two directory trees as backup and restore must keep them (raw names, types, modes, sizes,
// content hashes, ns mtimes, link targets, hard links, xattrs, owners): readable differences.

import { isUtf8 } from 'node:buffer';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export type EntryKind = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'chardev' | 'blockdev';

export interface EntryInfo {
  readonly kind: EntryKind;
  /** Permission bits with setuid, setgid and sticky. */
  readonly mode: number;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly atimeNs: bigint;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: bigint;
  readonly ino: bigint;
  readonly rdev: bigint;
  /** Files: SHA-256 of the content; symlinks: the target bytes in hex. */
  readonly content: string | undefined;
  /** Name → value, both hex; undefined when not read. */
  xattrs: Map<string, string> | undefined;
  /** Sorted relative paths (hex) of all entries of the tree sharing this inode, for files with links. */
  linkGroup: string | undefined;
}

export interface CompareOptions {
  /** Modification times to the nanosecond (default true). */
  readonly mtimes?: boolean;
  /** Also the modification times of directories (default true). */
  readonly dirMtimes?: boolean;
  /** Access times (default false: reading a file may change them). */
  readonly atimes?: boolean;
  /** uid and gid (default true). */
  readonly owners?: boolean;
  /** Extended attributes, read with python3 (default true). */
  readonly xattrs?: boolean;
  /** Which files are hard links of each other (default true). */
  readonly hardLinks?: boolean;
  /** The metadata of the two roots themselves (default true). */
  readonly root?: boolean;
  /** Entries (paths relative to the root, raw bytes) to leave out, with everything below them. */
  readonly ignore?: (relative: Buffer, info: EntryInfo) => boolean;
}

/** A relative path for messages: JSON quoting when it is UTF-8, else every odd byte as \xNN. */
export function showPath(relative: Buffer): string {
  if (relative.length === 0) return '"."';
  if (isUtf8(relative)) return JSON.stringify(relative.toString('utf8'));
  let out = '';
  for (const byte of relative) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `"${out}"`;
}

function kindOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean }): EntryKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return st.isCharacterDevice() ? 'chardev' : 'blockdev';
}

async function hashFile(path: Buffer): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function join(root: Buffer, relative: Buffer): Buffer {
  return relative.length === 0 ? root : Buffer.concat([root, Buffer.from('/'), relative]);
}

/** Every entry of the tree by relative path (hex; '' is the root itself). */
export async function scanTree(root: string, options: CompareOptions = {}): Promise<Map<string, EntryInfo>> {
  const rootBytes = Buffer.from(root);
  const entries = new Map<string, EntryInfo>();
  const visit = async (relative: Buffer): Promise<void> => {
    const path = join(rootBytes, relative);
    const st = await lstat(path, { bigint: true });
    const kind = kindOf(st);
    let content: string | undefined;
    if (kind === 'file') content = await hashFile(path);
    else if (kind === 'symlink') content = (await readlink(path, { encoding: 'buffer' })).toString('hex');
    const info: EntryInfo = {
      kind,
      mode: Number(st.mode & 0o7777n),
      size: kind === 'file' ? st.size : 0n,
      mtimeNs: st.mtimeNs,
      atimeNs: st.atimeNs,
      uid: Number(st.uid),
      gid: Number(st.gid),
      nlink: st.nlink,
      ino: st.ino,
      rdev: st.rdev,
      content,
      xattrs: undefined,
      linkGroup: undefined,
    };
    if (relative.length > 0 && options.ignore?.(relative, info)) return;
    entries.set(relative.toString('hex'), info);
    if (kind !== 'dir') return;
    const names = await readdir(path, { encoding: 'buffer' });
    for (const name of names) await visit(relative.length === 0 ? name : Buffer.concat([relative, Buffer.from('/'), name]));
  };
  await visit(Buffer.alloc(0));
  if (options.hardLinks ?? true) {
    const byInode = new Map<bigint, string[]>();
    for (const [rel, info] of entries) {
      if (info.kind !== 'file' || info.nlink < 2n) continue;
      const group = byInode.get(info.ino) ?? [];
      group.push(rel);
      byInode.set(info.ino, group);
    }
    for (const group of byInode.values()) {
      const text = [...group].sort().join(',');
      for (const rel of group) entries.get(rel)!.linkGroup = text;
    }
  }
  if (options.xattrs ?? true) await readXattrs(rootBytes, entries);
  return entries;
}

const xattrScript = `
import json, os, sys
root = bytes.fromhex(sys.argv[1])
out = {}
for rel in json.load(sys.stdin):
    p = os.path.join(root, bytes.fromhex(rel)) if rel else root
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError:
        names = []
    out[rel] = {n: os.getxattr(p, n, follow_symlinks=False).hex() for n in sorted(names)}
json.dump(out, sys.stdout)
`;

async function readXattrs(root: Buffer, entries: Map<string, EntryInfo>): Promise<void> {
  const child = execFileAsync('python3', ['-c', xattrScript, root.toString('hex')], { maxBuffer: 256 * 1024 * 1024 });
  child.child.stdin?.end(JSON.stringify([...entries.keys()]));
  const { stdout } = await child;
  const all = JSON.parse(stdout) as Record<string, Record<string, string>>;
  for (const [rel, info] of entries) info.xattrs = new Map(Object.entries(all[rel] ?? {}));
}

function nsText(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(s) * 1000).toISOString().slice(0, 19)}.${frac}Z`;
}

function xattrText(map: Map<string, string> | undefined): string {
  return JSON.stringify(Object.fromEntries(map ?? []));
}

/** The differences between the trees at `a` and `b`, one readable line each; empty when they match. */
export async function compareTrees(a: string, b: string, options: CompareOptions = {}): Promise<string[]> {
  const [left, right] = await Promise.all([scanTree(a, options), scanTree(b, options)]);
  const diffs: string[] = [];
  const keys = [...new Set([...left.keys(), ...right.keys()])].sort();
  for (const key of keys) {
    const name = showPath(Buffer.from(key, 'hex'));
    const x = left.get(key);
    const y = right.get(key);
    if (!x || !y) {
      diffs.push(`${name}: only in ${x ? a : b} (${(x ?? y)!.kind})`);
      continue;
    }
    if (key === '' && options.root === false) continue;
    const differ = (what: string, p: string, q: string) => {
      if (p !== q) diffs.push(`${name}: ${what} ${p} != ${q}`);
    };
    differ('type', x.kind, y.kind);
    if (x.kind !== y.kind) continue;
    differ('mode', x.mode.toString(8).padStart(4, '0'), y.mode.toString(8).padStart(4, '0'));
    if (x.kind === 'file') {
      differ('size', String(x.size), String(y.size));
      differ('content sha256', x.content!, y.content!);
    }
    if (x.kind === 'symlink') differ('symlink target', showPath(Buffer.from(x.content!, 'hex')), showPath(Buffer.from(y.content!, 'hex')));
    if (x.kind === 'chardev' || x.kind === 'blockdev') differ('device', String(x.rdev), String(y.rdev));
    if ((options.mtimes ?? true) && (x.kind !== 'dir' || (options.dirMtimes ?? true))) differ('mtime', nsText(x.mtimeNs), nsText(y.mtimeNs));
    if (options.atimes) differ('atime', nsText(x.atimeNs), nsText(y.atimeNs));
    if (options.owners ?? true) differ('owner', `${x.uid}:${x.gid}`, `${y.uid}:${y.gid}`);
    if (options.xattrs ?? true) differ('xattrs', xattrText(x.xattrs), xattrText(y.xattrs));
    if (options.hardLinks ?? true) {
      const show = (g: string | undefined) => (g ? g.split(',').map((h) => showPath(Buffer.from(h, 'hex'))).join(' ') : 'none');
      differ('hard links', show(x.linkGroup), show(y.linkGroup));
    }
  }
  return diffs;
}
