// nodeFromStat against restic 0.14: restic backs up a fixture of every file type, mode bit and
// odd name, and the tree blobs we build from our nodes must be the bytes restic wrote, node by node.

import assert from 'node:assert/strict';
import { lstat, readFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { encodeNode, type Node } from '../../src/format/node.js';
import { decodeTree, encodeTree } from '../../src/format/tree.js';
import { listDirectory } from '../../src/fs/list-directory.js';
import { nodeFromStat } from '../../src/fs/node-from-stat.js';
import { joinPath } from '../../src/fs/paths.js';
import type { FsWarning } from '../../src/fs/warning.js';
import { tempDir } from '../helpers/tmp.js';
import { isRoot, requireTools } from '../helpers/tools.js';
import { buildFixture, type FixtureOp } from './fixture.js';
import { resticPeer } from './restic-peer.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const hex = (h: string): Buffer => Buffer.from(h, 'hex');
const ns = (iso: string, nanos: bigint): bigint => BigInt(Date.parse(iso)) * 1_000_000n + nanos;
/** A zone with a half-hour offset and daylight saving time, so offsets and DST are both exercised. */
const ZONE = 'America/St_Johns';

function fixtureOps(data: Buffer): FixtureOp[] {
  const p = (...names: Array<string | Buffer>): Buffer => names.reduce<Buffer>((dir, n) => joinPath(dir, typeof n === 'string' ? b(n) : n), data);
  const ops: FixtureOp[] = [
    { op: 'mkdir', path: data },
    { op: 'file', path: p('regular'), data: b('hello\n') },
    { op: 'mtime', path: p('regular'), ns: ns('2020-01-02T03:04:05Z', 123_456_789n) },
    { op: 'file', path: p('summer'), data: b('dst') },
    { op: 'mtime', path: p('summer'), ns: ns('2021-07-01T12:00:00Z', 1n) },
    { op: 'file', path: p('old'), data: b('1960') },
    { op: 'mtime', path: p('old'), ns: ns('1960-03-04T05:06:07Z', 500_000_000n) },
    { op: 'file', path: p('empty') },
    { op: 'file', path: p('exec'), data: b('#!/bin/sh\n'), mode: 0o755 },
    { op: 'file', path: p('sparse') },
    { op: 'truncate', path: p('sparse'), size: 16 * 2 ** 20 + 1 },
    { op: 'mkdir', path: p('dir') },
    { op: 'xattr', path: p('dir'), name: 'user.dir', value: b('dv') },
    { op: 'mkdir', path: p('dir', 'sub') },
    { op: 'file', path: p('dir', 'sub', 'file'), data: b('x') },
    { op: 'mkdir', path: p('empty-dir') },
    { op: 'symlink', path: p('link'), target: b('regular') },
    { op: 'symlink', path: p('dangling'), target: b('nowhere/at all') },
    { op: 'symlink', path: p('dir-link'), target: b('dir') },
    { op: 'mtime', path: p('link'), ns: ns('2019-06-07T08:09:10Z', 1n) },
    { op: 'fifo', path: p('fifo') },
    { op: 'socket', path: p('socket') },
    { op: 'file', path: p('hard1'), data: b('linked') },
    { op: 'link', path: p('hard2'), target: p('hard1') },
    { op: 'file', path: p('setuid'), mode: 0o4755 },
    { op: 'file', path: p('setgid'), mode: 0o2711 },
    { op: 'mkdir', path: p('sgid-dir'), mode: 0o2775 },
    { op: 'mkdir', path: p('sticky'), mode: 0o1777 },
    { op: 'file', path: p('mode000'), mode: 0 },
    { op: 'mkdir', path: p('dir000'), mode: 0 },
    { op: 'file', path: p('xattrs'), data: b('attrs') },
    // Not in name order: restic keeps the kernel's order.
    { op: 'xattr', path: p('xattrs'), name: 'user.zeta', value: b('1') },
    { op: 'xattr', path: p('xattrs'), name: 'user.alpha', value: b('2') },
    { op: 'xattr', path: p('xattrs'), name: 'user.empty', value: Buffer.alloc(0) },
    { op: 'xattr', path: p('xattrs'), name: 'user.binary', value: hex('00ff80') },
    { op: 'file', path: p('a"b\\c\td\ne<&>') },
    { op: 'file', path: p(hex('626164ff')) },
    { op: 'mkdir', path: p(hex('646972fe')) },
    { op: 'xattr', path: p(hex('646972fe')), name: 'user.in-bad-dir', value: b('x') },
    { op: 'file', path: p(hex('646972fe'), 'inside'), data: b('y') },
    { op: 'xattr', path: p(hex('646972fe'), 'inside'), name: 'user.inside', value: b('y') },
    { op: 'file', path: p('caf\u00e9 \u{1f600}') },
    // The two differences we know of, kept apart (see below).
    { op: 'mkdir', path: p('lossy') },
    { op: 'symlink', path: p('lossy', 'badlink'), target: hex('746774ff') },
    { op: 'file', path: p('lossy', hex('78617474ff')) },
    { op: 'xattr', path: p('lossy', hex('78617474ff')), name: 'user.lost', value: b('z') },
  ];
  if (isRoot) {
    ops.push(
      { op: 'device', path: p('null'), kind: 'c', major: 1, minor: 3 },
      { op: 'device', path: p('loop'), kind: 'b', major: 7, minor: 200 },
      { op: 'file', path: p('nobody') },
      { op: 'chown', path: p('nobody'), uid: 65534, gid: 65534 },
      { op: 'file', path: p('unnamed-owner') },
      { op: 'chown', path: p('unnamed-owner'), uid: 12345, gid: 23456 },
      { op: 'symlink', path: p('unnamed-link'), target: b('x') },
      { op: 'chown', path: p('unnamed-link'), uid: 4242, gid: 4343 },
    );
  }
  return ops;
}

/**
 * The one kind of expected difference per name in `lossy`: a symlink target that is not UTF-8
 * (restic 0.14 writes \ufffd; our encoder adds linktarget_raw so the bytes survive) and the xattrs
 * of a non-directory whose own name is not UTF-8 (the xattr module cannot name that file).
 */
function expectedDifference(name: Buffer, ours: string, theirs: string): void {
  if (name.equals(b('badlink'))) {
    assert.equal(ours.replace(/,"linktarget_raw":"[^"]*"/, ''), theirs);
    assert.match(ours, /"linktarget_raw":"dGd0\/w=="/);
  } else {
    assert.equal(ours, theirs.replace(/,"extended_attributes":\[[^\]]*\]/, ''));
    assert.match(theirs, /"extended_attributes":\[\{"name":"user.lost"/);
  }
}

/** Whether atimes set in the future stay put when the file is read (relatime), so --with-atime can be compared. */
async function atimesAreStable(file: Buffer): Promise<boolean> {
  const before = (await lstat(file, { bigint: true })).atimeNs;
  await readFile(file);
  return (await lstat(file, { bigint: true })).atimeNs === before;
}

/** The exact JSON text of each node in a tree blob, in order: what restic wrote, not a re-encoding. */
function rawNodes(blob: Buffer): string[] {
  const text = blob.toString('utf8');
  const nodes: string[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = text.indexOf('[') + 1; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth++ === 0) start = i;
    } else if (c === '}' || c === ']') {
      if (depth === 0) break;
      if (--depth === 0) nodes.push(text.slice(start, i + 1));
    }
  }
  return nodes;
}

async function compareSnapshot(t: TestContext, peer: Awaited<ReturnType<typeof resticPeer>>, snapshot: string, dir: Buffer, withAtime: boolean): Promise<number> {
  const warnings: FsWarning[] = [];
  const warn = (w: FsWarning): void => void warnings.push(w);
  let compared = 0;
  const lossyDir = joinPath(dir, b('data/lossy'));
  const pending: Array<[id: string, fsDir: Buffer, root: boolean]> = [[await peer.rootTree(snapshot), dir, true]];
  while (pending.length > 0) {
    const [id, fsDir, root] = pending.pop()!;
    const blob = await peer.blob(id);
    const raw = rawNodes(blob);
    const decoded = decodeTree(blob);
    assert.equal(raw.length, decoded.length);
    const theirs = new Map(decoded.map((n, i) => [n.name.toString('hex'), { node: n, json: raw[i]! }]));
    const names = root ? [b('data')] : await listDirectory(fsDir);
    const ours: Node[] = [];
    for (const name of names) {
      const path = joinPath(fsDir, name);
      const st = await lstat(path, { bigint: true });
      if (st.isSocket()) continue;
      const node = await nodeFromStat(name, path, st, { withAtime, warn });
      const their = theirs.get(name.toString('hex'));
      assert.ok(their, `restic has no node for ${path.toString()}`);
      node.content = their.node.content;
      node.subtree = their.node.subtree;
      if (node.subtree !== null) pending.push([node.subtree, path, false]);
      ours.push(node);
      compared++;
      if (fsDir.equals(lossyDir)) expectedDifference(name, encodeNode(node), their.json);
      else assert.equal(encodeNode(node), their.json, `node ${path.toString()}`);
    }
    assert.equal(ours.length, theirs.size, `entries of ${fsDir.toString()}`);
    if (!fsDir.equals(lossyDir)) assert.deepEqual(encodeTree(ours), blob, `tree of ${fsDir.toString()}`);
  }
  // The only warning: xattrs of files with non-UTF-8 names are not read (reported once per process).
  assert.ok(warnings.length <= 1 && warnings.every((w) => /not valid UTF-8/.test(w.message)), warnings.map((w) => w.message).join('; '));
  t.diagnostic(`${withAtime ? 'with' : 'without'} atime: ${compared} nodes identical to restic's`);
  return compared;
}

test('nodeFromStat writes the nodes restic 0.14 writes, byte for byte', async (t) => {
  if (!requireTools(t, 'restic', 'python3')) return;
  const zone = process.env.TZ;
  process.env.TZ = ZONE;
  t.after(() => {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  });
  const dir = b(await tempDir(t));
  const data = joinPath(dir, b('data'));
  const ops = fixtureOps(data);
  await buildFixture(ops);
  // Every entry made, sockets aside (restic skips them); `data` itself is the root tree's node.
  const entries = ops.filter((o) => ['mkdir', 'file', 'symlink', 'link', 'fifo', 'device'].includes(o.op)).length;
  // Future atimes are not moved by reads (relatime), so restic's reads cannot change what we see.
  await buildFixture([{ op: 'atimes', path: data, ns: BigInt(Date.now() + 86_400_000) * 1_000_000n }]);

  const peer = await resticPeer(dir.toString());
  const env = { TZ: ZONE };
  const plain = await peer.backup(['data'], [], { env });
  const stable = await atimesAreStable(joinPath(data, b('regular')));
  const withAtime = stable ? await peer.backup(['data'], ['--with-atime', '--force'], { env }) : undefined;

  assert.equal(await compareSnapshot(t, peer, plain, dir, false), entries);
  if (withAtime) assert.equal(await compareSnapshot(t, peer, withAtime, dir, true), entries);
  else t.diagnostic('reads update atimes on this file system (strictatime?): --with-atime not compared');
});

test('a node records the fields restic records for its type', async (t) => {
  if (!requireTools(t, 'python3')) return;
  const dir = b(await tempDir(t));
  const data = joinPath(dir, b('data'));
  await buildFixture(fixtureOps(data));
  const node = async (name: string): Promise<Node> => {
    const path = joinPath(data, b(name));
    return nodeFromStat(b(name), path, await lstat(path, { bigint: true }));
  };
  const file = await node('regular');
  assert.equal(file.type, 'file');
  assert.equal(file.size, 6n);
  assert.equal(file.links, 1n);
  assert.deepEqual(file.atime, file.mtime);
  assert.equal(file.mtime.ns, ns('2020-01-02T03:04:05Z', 123_456_789n));
  const directory = await node('dir');
  assert.equal(directory.links, 0n);
  assert.equal(directory.size, 0n);
  assert.deepEqual(directory.extendedAttributes, [{ name: 'user.dir', value: b('dv') }]);
  const fifo = await node('fifo');
  assert.equal(fifo.links, 0n);
  const link = await node('dangling');
  assert.deepEqual(link.linkTarget, b('nowhere/at all'));
  assert.equal(link.links, 1n);
  assert.deepEqual((await node('xattrs')).extendedAttributes.map((a) => a.name), ['user.zeta', 'user.alpha', 'user.empty', 'user.binary']);
  assert.equal((await node('sparse')).size, 16n * 2n ** 20n + 1n);
  assert.equal((await node('hard2')).links, 2n);
});
