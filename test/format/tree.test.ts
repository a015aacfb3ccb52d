// Tree blobs: raw-byte name order, duplicate and order errors in the streaming builder, restic's
// exact framing, and the tolerant reader.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HoldfastError } from '../../src/errors.js';
import { makeNode, type Node } from '../../src/format/node.js';
import { compareNames, decodeTree, encodeTree, TreeBuilder } from '../../src/format/tree.js';

const isInvalid = (err: unknown): boolean => err instanceof HoldfastError && err.code === 'ERR_INVALID_ARGUMENT';
const isCorrupt = (err: unknown): boolean => err instanceof HoldfastError && err.code === 'ERR_CORRUPT';

const fifo = (name: Buffer | string): Node => makeNode({ name: typeof name === 'string' ? Buffer.from(name) : name, type: 'fifo' });
const fifoJson = (quoted: string): string =>
  `{"name":"${quoted}","type":"fifo","mtime":"0001-01-01T00:00:00Z","atime":"0001-01-01T00:00:00Z","ctime":"0001-01-01T00:00:00Z","uid":0,"gid":0,"content":null}`;

test('an empty tree is exactly what restic writes', () => {
  assert.equal(new TreeBuilder().finish().toString(), '{"nodes":[]}\n');
  assert.equal(encodeTree([]).toString(), '{"nodes":[]}\n');
});

test('encodeTree orders nodes by raw name bytes', () => {
  const names = [Buffer.from('z'), Buffer.from('é'), Buffer.from([0xff]), Buffer.from('B'), Buffer.from('a'), Buffer.from('a.b'), Buffer.from('a b')];
  const tree = encodeTree(names.map(fifo));
  const expected = ['B', 'a', 'a b', 'a.b', 'z', 'é', '\\\\xff'].map(fifoJson).join(',');
  assert.equal(tree.toString(), `{"nodes":[${expected}]}\n`);
  assert.deepEqual(
    decodeTree(tree).map((n) => n.name),
    [...names].sort(compareNames),
  );
});

test('the builder refuses names out of order and duplicates', () => {
  const builder = new TreeBuilder();
  builder.add(fifo('b'));
  assert.throws(() => builder.add(fifo('a')), isInvalid);
  assert.throws(() => builder.add(fifo('b')), isInvalid);
  builder.add(fifo('c'));
  assert.equal(builder.count, 2);
  assert.throws(() => encodeTree([fifo('x'), fifo('x')]), isInvalid);
});

test('decodeTree tolerates what restic tolerates', () => {
  const node = fifoJson('n');
  assert.deepEqual(decodeTree('{"nodes":null}\n'), []);
  assert.deepEqual(decodeTree('{}'), []);
  const withExtras = decodeTree(`{"version":2,"Nodes":[${node}],"meta":{"x":[1]}}`);
  assert.deepEqual(withExtras.map((n) => n.name.toString()), ['n']);
  // restic reads trees in stored order; only its builder insists on sorting.
  const unordered = decodeTree(`{"nodes":[${fifoJson('b')},${fifoJson('a')}]}`);
  assert.deepEqual(unordered.map((n) => n.name.toString()), ['b', 'a']);
});

test('malformed trees are corrupt data', () => {
  for (const bad of ['', '{"nodes":[', '{"nodes":[1]}', '{"nodes":{}}', '{"nodes":[]} x', '[]']) {
    assert.throws(() => decodeTree(bad), isCorrupt, bad);
  }
});

test('a subtree node and a file node round trip through bytes', () => {
  const nodes = [
    makeNode({ name: Buffer.from('dir'), type: 'dir', mode: 0x8000_01ed, subtree: 'ab'.repeat(32) }),
    makeNode({ name: Buffer.from('file'), type: 'file', mode: 0o600, size: 3n, content: ['cd'.repeat(32), 'ef'.repeat(32)] }),
  ];
  const tree = encodeTree(nodes);
  assert.deepEqual(decodeTree(tree), nodes);
  assert.deepEqual(encodeTree(decodeTree(tree)), tree);
});
