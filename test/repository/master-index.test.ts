// A pack's blobs found by their keys (what an index file is written from) are exactly what going
// through the whole table finds for that pack: duplicates in other packs and in the same pack too.

import assert from 'node:assert/strict';
import test from 'node:test';
import { randomId } from '../../src/format/id.js';
import type { PackedBlob } from '../../src/format/pack.js';
import { blobKeys, keyCount, MasterIndex } from '../../src/repository/master-index.js';

function packOf(ids: readonly string[], types: readonly ('data' | 'tree')[] = []): PackedBlob[] {
  let offset = 0;
  return ids.map((id, i) => {
    const length = 100 + i;
    const blob: PackedBlob = { id, type: types[i] ?? 'data', offset, length, ...(i % 2 ? { uncompressedLength: 500 + i } : {}) };
    offset += length;
    return blob;
  });
}

test('blobsInPack finds a pack\'s blobs by key as a walk through the whole table does', () => {
  const index = new MasterIndex();
  const shared = randomId();
  const packs = new Map<string, PackedBlob[]>();
  for (let p = 0; p < 20; p++) packs.set(randomId(), packOf([shared, ...Array.from({ length: 50 }, () => randomId())]));
  const twice = randomId();
  const tree = randomId();
  // The same blob twice in one pack, and a tree whose id is also a data blob's.
  packs.set(randomId(), packOf([twice, tree, twice, tree], ['data', 'data', 'data', 'tree']));
  for (const [id, blobs] of packs) index.addPack(id, blobs);

  const walked = new Map(Array.from(index.packsOneByOne(), (p) => [p.id, p.blobs]));
  for (const [id, blobs] of packs) {
    const keys = blobKeys(blobs);
    assert.equal(keyCount(keys), blobs.length);
    assert.deepEqual(index.blobsInPack(id, keys), walked.get(id), `pack ${id.slice(0, 8)}`);
  }
  assert.equal(walked.get([...packs.keys()].at(-1)!)!.length, 4);
  assert.deepEqual(index.blobsInPack(randomId(), blobKeys(packs.values().next().value!)), [], 'a pack the index does not hold has none');
});
