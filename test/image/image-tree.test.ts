// The image tree: restic's own decoder reads it (content lists the zero blob for unused blocks),
// and the scanner finds the image and its block directory without materialising the block list.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import test from 'node:test';
import { localGoTime } from '../../src/format/go-json.js';
import { decodeTree, encodeTree } from '../../src/format/tree.js';
import { makeNode } from '../../src/format/node.js';
import { BlockDirectory } from '../../src/image/block-directory.js';
import { encodeImageTree, scanImageTree } from '../../src/image/image-tree.js';
import { zeroBlockId } from '../../src/image/zero-blocks.js';

const sha = (text: string): Buffer => createHash('sha256').update(text).digest();

test('the tree holds the image with its block list and NAME.blockdir, in restic node order', () => {
  const dir = BlockDirectory.first({ name: 'disk "a"\\b', source: 'x', volumeSize: 3 * 4096 - 1000, blockSize: 4096, timeNs: 0n, mode: 'full' });
  dir.set(0, sha('zero'));
  dir.setUnused(1);
  dir.setUnused(2);
  const owner = { time: localGoTime(1_700_000_000_000_000_000n), uid: 1000, gid: 100, user: 'me' };
  const tree = encodeImageTree(dir, ['c'.repeat(64), 'd'.repeat(64)], 1234, owner);
  const nodes = decodeTree(tree);
  assert.deepEqual(nodes.map((n) => n.name.toString()), ['disk "a"\\b', 'disk "a"\\b.blockdir']);
  const [image, directory] = nodes;
  assert.equal(image!.size, BigInt(dir.volumeSize));
  assert.equal(image!.mode, 0o600);
  assert.deepEqual(image!.content, [sha('zero').toString('hex'), zeroBlockId(4096).toString('hex'), zeroBlockId(4096 - 1000).toString('hex')]);
  assert.deepEqual(directory!.content, ['c'.repeat(64), 'd'.repeat(64)]);
  assert.equal(directory!.size, 1234n);
  assert.ok(tree.equals(encodeTree(nodes)), 'byte for byte what the generic tree encoder writes');

  assert.deepEqual(scanImageTree(tree, 't'), [{ name: 'disk "a"\\b', size: dir.volumeSize, blobCount: 3, directory: { size: 1234, content: ['c'.repeat(64), 'd'.repeat(64)] } }]);
});

test('a tree without a NAME.blockdir beside a file holds no image', () => {
  const plain = encodeTree([makeNode({ name: Buffer.from('stdin'), type: 'file', content: ['e'.repeat(64)] })]);
  assert.deepEqual(scanImageTree(plain, 't'), []);
});
