// treeRefs reads the blobs a tree refers to straight from its bytes, as Go's decoder would see
// them: keys in any case or escaped, nulls, unknown values of any shape, and damaged trees refused.

import assert from 'node:assert/strict';
import test from 'node:test';
import { BlobSet } from '../../src/maintenance/blob-set.js';
import { treeRefs } from '../../src/maintenance/tree-refs.js';

const id = (n: number) => n.toString(16).padStart(64, '0');
const refs = (json: string) => treeRefs(Buffer.from(json), id(0));

test('file contents and directory subtrees, in order; other node types and fields are skipped', () => {
  const tree = `{"nodes":[
    {"name":"a \\"quoted\\" [name] {x}","type":"file","mode":420,"content":["${id(1)}","${id(2)}"],"extended_attributes":[{"name":"user.x","value":"AA=="}]},
    {"name":"d","type":"dir","content":null,"subtree":"${id(3)}","future":{"nested":["}",{"]":"\\\\"}],"n":-1.5e3,"t":true}},
    {"name":"l","type":"symlink","linktarget":"a","content":["${id(4)}"]},
    {"name":"e","type":"file","content":[]}
  ]}\n`;
  assert.deepEqual(refs(tree), { content: [id(1), id(2)], subtrees: [id(3)] });
});

test('keys match in any case and through escapes, as with Go; type values match exactly', () => {
  assert.deepEqual(refs(`{"Nodes":[{"TYPE":"file","Content":["${id(5).toUpperCase()}"]},{"type":"dir","SubTree":"${id(6)}"}]}`), { content: [id(5)], subtrees: [id(6)] });
  assert.deepEqual(refs(`{"nodes":[{"\\u0074ype":"\\u0066ile","content":["${id(7)}"]}]}`), { content: [id(7)], subtrees: [] });
  assert.deepEqual(refs(`{"nodes":[{"type":"File","content":["${id(8)}"]}]}`), { content: [], subtrees: [] });
});

test('nulls, an empty tree, and a repeated nodes key (the last one counts)', () => {
  assert.deepEqual(refs('{"nodes":null}'), { content: [], subtrees: [] });
  assert.deepEqual(refs('{}\n'), { content: [], subtrees: [] });
  assert.deepEqual(refs(`{"nodes":[{"type":"file","content":["${id(1)}"]}],"x":[],"nodes":[{"type":"file","content":null}]}`), { content: [], subtrees: [] });
});

test('damaged trees are refused', () => {
  assert.throws(() => refs('{"nodes":[{"type":"dir"}]}'), /no subtree/);
  assert.throws(() => refs('{"nodes":[{"type":"file","content":["abc"]}]}'), /invalid blob id/);
  assert.throws(() => refs('{"nodes":[{"type":"file"'), /unexpected end|expected/);
  assert.throws(() => refs('{"nodes":[]} x'), /unexpected data/);
  assert.throws(() => refs('{"nodes":[{"type" "file"}]}'), /expected ':'/);
});

test('BlobSet keeps types apart, grows, and keeps flags', () => {
  const set = new BlobSet(4);
  for (let i = 0; i < 5000; i++) assert.equal(set.add(i % 2 ? 'tree' : 'data', id(i), i % 3), true);
  assert.equal(set.size, 5000);
  assert.equal(set.add('data', id(0)), false);
  assert.equal(set.has('tree', id(0)), false);
  assert.equal(set.add('tree', id(0)), true);
  assert.equal(set.flag('data', id(3000)), 0);
  assert.equal(set.flag('tree', id(4999)), 4999 % 3);
  assert.equal(set.setFlag('data', id(2), 7), true);
  assert.equal(set.flagAt('data', Buffer.from(id(2), 'hex'), 0), 7);
  assert.equal(set.setFlag('data', id(99999), 1), false);
  assert.equal([...set.entries(7)].length, 1);
  assert.equal([...set.entries()].length, 5001);
});
