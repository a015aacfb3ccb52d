// A hard, deterministic directory tree for backup and restore tests: awkward and raw-byte names,
// large/empty/sparse files, links, fifos, devices, deep nesting, xattrs, special modes, ns times.

import { execFile } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { link, mkdir, open, symlink, truncate, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { isRoot } from './tools.js';

const execFileAsync = promisify(execFile);

export interface FixtureOptions {
  /** Varies contents and times (default 1). */
  readonly seed?: number;
  /** Files larger than 8 MiB, compressible and not, and a 64 MiB sparse file (default true). */
  readonly large?: boolean;
  /** Levels of nested directories (default 30). */
  readonly depth?: number;
  /** Extended attributes on a file and a directory (default true). */
  readonly xattrs?: boolean;
  /** A fifo (default true). */
  readonly fifos?: boolean;
  /** A Unix socket: restic backs it up but no restore recreates it (default false). */
  readonly sockets?: boolean;
  /** A symlink whose target is not valid UTF-8: restic 0.14 stores such targets lossily (default true). */
  readonly binaryLinkTargets?: boolean;
  /**
   * A file and a directory of mode 000, which only root can back up (default: when running as
   * root); a comparison of a restore can only include what the backup could read.
   */
  readonly unreadable?: boolean;
  /** Files owned by other users and groups, and device nodes (default: when running as root). */
  readonly owners?: boolean;
}

export interface FixtureTree {
  readonly root: string;
  /** Paths (relative, raw bytes) of files that have holes. */
  readonly sparseFiles: readonly Buffer[];
  /** Groups of paths (relative) that are hard links of one file. */
  readonly hardLinkGroups: readonly (readonly Buffer[])[];
  /** Relative paths of a few notable entries, for tests that look at one thing. */
  readonly paths: {
    readonly empty: Buffer;
    readonly small: Buffer;
    readonly bigRandom: Buffer | undefined;
    readonly bigText: Buffer | undefined;
    readonly deepest: Buffer;
    readonly nonUtf8: Buffer;
    readonly xattrFile: Buffer | undefined;
  };
}

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const join = (...parts: (string | Buffer)[]): Buffer =>
  Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [typeof p === 'string' ? b(p) : p] : [b('/'), typeof p === 'string' ? b(p) : p])));

/** Deterministic incompressible bytes: AES-CTR keystream from the seed and a label. */
export function pseudoRandom(length: number, seed: number, label: string): Buffer {
  const key = createHash('sha256').update(`${seed}:${label}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

/** Deterministic text that compresses well but does not repeat exactly (so it chunks normally). */
export function pseudoText(length: number, seed: number): Buffer {
  const words = ['restore', 'backup', 'pack', 'blob', 'tree', 'index', 'snapshot', 'chunk', 'key', 'lock', 'node', 'mode', 'time', 'hole'];
  const random = pseudoRandom(Math.ceil(length / 4) + 16, seed, 'text');
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const line = `${i}: ${words[random[i % random.length]! % words.length]} ${words[random[(i * 7) % random.length]! % words.length]} ${random.readUInt32LE((i * 4) % (random.length - 4))}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, length);
}

/** Names that break naive code: every one is a valid Linux file name. */
export const awkwardNames: readonly Buffer[] = [
  b('with space'),
  b('back\\slash'),
  b('double"quote'),
  b("single'quote"),
  b('new\nline'),
  b('tab\tname'),
  b('<angle>&amp'),
  b('ünïcödé-名前-😀'),
  b('\u00a0non-breaking'),
  Buffer.from([0x01, 0x63, 0x74, 0x72, 0x6c, 0x1f]),
  Buffer.from([0x64, 0x65, 0x6c, 0x7f]),
  Buffer.from([0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x2d, 0xe9]),
  Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x80]),
  b('-leading-dash'),
  b('.hidden'),
  b('trailing.'),
];

/**
 * Python finishes what Node cannot: fifos, sockets, devices, xattrs, owners, modes (after the
 * owners, which clear setuid) and nanosecond times for every entry, deepest first, so that each
 * directory's mtime is set after everything inside it changed.
 */
const finishScript = `
import json, os, socket, stat, sys, hashlib
spec = json.load(sys.stdin)
root = spec['root'].encode()
h = bytes.fromhex
for o in spec['ops']:
    p = os.path.join(root, h(o['path'])); op = o['op']
    if op == 'fifo': os.mkfifo(p, 0o644)
    elif op == 'socket':
        s = socket.socket(socket.AF_UNIX); s.bind(p); s.close()
    elif op == 'device': os.mknod(p, (stat.S_IFCHR if o['kind'] == 'c' else stat.S_IFBLK) | 0o640, os.makedev(o['major'], o['minor']))
    elif op == 'xattr': os.setxattr(p, o['name'], h(o['value']), follow_symlinks=False)
    elif op == 'chown': os.chown(p, o['uid'], o['gid'], follow_symlinks=False)
    elif op == 'chmod': os.chmod(p, o['mode'])
base = spec['base']
def stamp(rel):
    d = hashlib.sha256(rel + spec['seed'].encode()).digest()
    return base + int.from_bytes(d[:6], 'little') % (10**17)
for dirpath, dirs, files in os.walk(root, topdown=False):
    for n in files + dirs:
        q = os.path.join(dirpath, n)
        rel = os.path.relpath(q, root)
        t = stamp(rel)
        os.utime(q, ns=(t + 123456789, t), follow_symlinks=False)
t = stamp(b'.')
os.utime(root, ns=(t + 123456789, t))
`;

interface FinishOp {
  op: 'fifo' | 'socket' | 'device' | 'xattr' | 'chown' | 'chmod';
  path: Buffer;
  [key: string]: unknown;
}

/** Builds the fixture in `root` (created; must not exist or be empty). */
export async function makeFixtureTree(root: string, options: FixtureOptions = {}): Promise<FixtureTree> {
  const seed = options.seed ?? 1;
  const large = options.large ?? true;
  const depth = options.depth ?? 30;
  const xattrs = options.xattrs ?? true;
  const unreadable = options.unreadable ?? isRoot;
  const owners = options.owners ?? isRoot;
  const r = (rel: Buffer): Buffer => join(root, rel);
  const ops: FinishOp[] = [];
  const hardLinkGroups: Buffer[][] = [];
  const sparseFiles: Buffer[] = [];
  await mkdir(root, { recursive: true });

  const file = async (rel: Buffer, data: Buffer | string, mode?: number): Promise<Buffer> => {
    await writeFile(r(rel), data);
    if (mode !== undefined) ops.push({ op: 'chmod', path: rel, mode });
    return rel;
  };
  const dir = async (rel: Buffer, mode?: number): Promise<Buffer> => {
    await mkdir(r(rel));
    if (mode !== undefined) ops.push({ op: 'chmod', path: rel, mode });
    return rel;
  };

  const empty = await file(b('empty'), '');
  const small = await file(b('one-byte'), 'x');
  await file(b('hello.txt'), `hello from seed ${seed}\n`);

  await dir(b('names'));
  for (const [i, name] of awkwardNames.entries()) await file(join('names', name), `file ${i} of seed ${seed}\n`);
  const nonUtf8Dir = await dir(join('names', Buffer.from([0x64, 0x69, 0x72, 0xc3, 0x28])));
  const nonUtf8 = await file(join(nonUtf8Dir, Buffer.from([0xf0, 0x28, 0x8c, 0x28])), 'inside a directory whose name is not UTF-8\n');

  let bigRandom: Buffer | undefined;
  let bigText: Buffer | undefined;
  if (large) {
    await dir(b('large'));
    bigRandom = await file(b('large/random-9MiB.bin'), pseudoRandom(9 * 1024 * 1024 + 17, seed, 'big'));
    bigText = await file(b('large/text-12MiB.txt'), pseudoText(12 * 1024 * 1024 + 5, seed));
    await file(b('large/zeros-9MiB.bin'), Buffer.alloc(9 * 1024 * 1024));
    const sparse = b('large/sparse-64MiB.img');
    const handle = await open(r(sparse), 'w');
    try {
      await handle.write(pseudoRandom(1000, seed, 's0'), 0, 1000, 0);
      await handle.write(pseudoRandom(70_000, seed, 's1'), 0, 70_000, 20 * 1024 * 1024 + 123);
      await handle.write(Buffer.from('in the middle of nowhere'), 0, 24, 40 * 1024 * 1024);
    } finally {
      await handle.close();
    }
    await truncate(r(sparse), 64 * 1024 * 1024);
    sparseFiles.push(sparse);
  }

  await dir(b('links'));
  await symlink('../hello.txt', r(b('links/to-hello')));
  await symlink('does/not/exist', r(b('links/dangling')));
  await symlink('/etc/hostname', r(b('links/absolute')));
  await symlink('../names', r(b('links/to-dir')));
  await symlink(Buffer.from('new\nline target'), r(b('links/odd-target')));
  if (options.binaryLinkTargets ?? true) await symlink(Buffer.from([0x74, 0xff, 0x67, 0x74]), r(b('links/binary-target')));

  await dir(b('hardlinks'));
  await dir(b('hardlinks/sub'));
  const h1 = await file(b('hardlinks/a'), pseudoText(5000, seed + 7));
  for (const other of [b('hardlinks/b'), b('hardlinks/sub/c')]) await link(r(h1), r(other));
  hardLinkGroups.push([h1, b('hardlinks/b'), b('hardlinks/sub/c')]);
  const h2 = await file(b('hardlinks/empty-1'), '');
  await link(r(h2), r(b('hardlinks/empty-2')));
  hardLinkGroups.push([h2, b('hardlinks/empty-2')]);

  let deepest = b('deep');
  await dir(deepest);
  for (let i = 1; i <= depth; i++) {
    deepest = join(deepest, `level-${String(i).padStart(2, '0')}`);
    await dir(deepest);
  }
  deepest = await file(join(deepest, 'bottom.txt'), 'at the bottom\n');

  await dir(b('modes'));
  await file(b('modes/setuid'), '#!/bin/sh\n', 0o4755);
  await file(b('modes/setgid'), '#!/bin/sh\n', 0o2750);
  await file(b('modes/read-only'), 'ro\n', 0o444);
  await file(b('modes/executable'), '#!/bin/sh\n', 0o700);
  await dir(b('modes/sticky-dir'), 0o1777);
  await dir(b('modes/setgid-dir'), 0o2775);
  await file(b('modes/setgid-dir/inside'), 'x\n');
  await dir(b('modes/private-dir'), 0o700);
  if (unreadable) {
    await file(b('modes/mode-000'), 'nobody may read this\n', 0o000);
    await dir(b('modes/unreadable-dir'), 0o000);
    await file(b('modes/unreadable-dir/hidden'), 'inside a mode 000 directory\n');
  }

  await dir(b('special'));
  if (options.fifos ?? true) ops.push({ op: 'fifo', path: b('special/fifo') });
  if (options.sockets) ops.push({ op: 'socket', path: b('special/socket') });
  let xattrFile: Buffer | undefined;
  if (xattrs) {
    xattrFile = await file(b('special/with-xattrs'), 'xattrs\n');
    ops.push({ op: 'xattr', path: xattrFile, name: 'user.binary', value: Buffer.from([0, 1, 0xff, 0x80, 0x0a]) });
    ops.push({ op: 'xattr', path: xattrFile, name: 'user.empty', value: Buffer.alloc(0) });
    ops.push({ op: 'xattr', path: xattrFile, name: 'user.text', value: b('some text') });
    await dir(b('special/xattr-dir'));
    ops.push({ op: 'xattr', path: b('special/xattr-dir'), name: 'user.dir', value: b('on a directory') });
  }
  if (owners) {
    await file(b('special/owned-by-1234'), 'owned\n');
    ops.push({ op: 'chown', path: b('special/owned-by-1234'), uid: 1234, gid: 5678 });
    await dir(b('special/dir-owned-by-nobody'));
    ops.push({ op: 'chown', path: b('special/dir-owned-by-nobody'), uid: 65534, gid: 65534 });
    ops.push({ op: 'device', path: b('special/null-device'), kind: 'c', major: 1, minor: 3 });
    ops.push({ op: 'device', path: b('special/block-device'), kind: 'b', major: 7, minor: 200 });
  }
  // Owners first: a chown clears setuid and setgid bits set before it.
  ops.sort((x, y) => (x.op === 'chmod' ? 1 : 0) - (y.op === 'chmod' ? 1 : 0));
  // Modes of directories last of all, once nothing is created inside them any more.
  const spec = {
    root,
    seed: String(seed),
    // 2021-05-06 plus up to ~3 years, in nanoseconds: sub-second parts on every entry.
    base: 1_620_000_000_000_000_000 + seed,
    ops: ops.map((o) => ({ ...o, path: o.path.toString('hex'), ...(Buffer.isBuffer(o.value) ? { value: o.value.toString('hex') } : {}) })),
  };
  await runPython(finishScript, JSON.stringify(spec));
  return { root, sparseFiles, hardLinkGroups, paths: { empty, small, bigRandom, bigText, deepest, nonUtf8, xattrFile } };
}

async function runPython(script: string, input: string): Promise<void> {
  const child = execFileAsync('python3', ['-c', script], { maxBuffer: 16 * 1024 * 1024 });
  child.child.stdin?.end(input);
  try {
    await child;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`building the fixture failed: ${(e.stderr ?? e.message).trim()}`);
  }
}
