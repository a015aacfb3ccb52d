// restic 0.14 and holdfast on the same repositories: each opens, lists and checks what the other
// wrote, including blobs and packs from holdfast's packer and a snapshot built by hand.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { goTimeFromDate } from '../../src/format/go-json.js';
import { hashId } from '../../src/format/id.js';
import { makeNode } from '../../src/format/node.js';
import { decodeSnapshot } from '../../src/format/snapshot.js';
import { decodeTree, encodeTree } from '../../src/format/tree.js';
import { openRepository } from '../../src/repository/keys.js';
import { saveSnapshot } from '../../src/repository/snapshots.js';
import { holdfast, ok, restic } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';

test('restic opens, lists and checks a repository holdfast initialised, and holdfast uses a key restic added', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const repo = join(await tempDir(t), 'repo');
  await ok(holdfast(['-r', repo, 'init']));
  const config = JSON.parse((await ok(restic(['-r', repo, 'cat', 'config']))).stdout);
  assert.equal(config.version, 2);
  assert.match(config.chunker_polynomial, /^[0-9a-f]+$/);
  assert.match((await ok(restic(['-r', repo, 'key', 'list']))).stdout, /^\*[0-9a-f]{8} /m);
  assert.match((await ok(restic(['-r', repo, 'check']))).stdout, /no errors were found/);

  const dir = await tempDir(t);
  await writeFile(join(dir, 'pw2'), 'second password\n');
  await ok(restic(['-r', repo, 'key', 'add', '--new-password-file', join(dir, 'pw2')]));
  const keys = await ok(holdfast(['-r', repo, 'key', 'list', '--json'], { env: { HOLDFAST_PASSWORD: 'second password' } }));
  const list = JSON.parse(keys.stdout) as { current: boolean }[];
  assert.equal(list.length, 2);
  assert.equal(list.filter((k) => k.current).length, 1);
});

test('holdfast reads everything in a repository restic initialised and filled', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const repo = join(dir, 'repo');
  const src = join(dir, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  await writeFile(join(src, 'text.txt'), 'hello restic\n'.repeat(50_000));
  await writeFile(join(src, 'random.bin'), randomBytes(3 * 1024 * 1024));
  await writeFile(join(src, 'sub', 'empty'), '');
  await ok(restic(['-r', repo, 'init']));
  await ok(restic(['-r', repo, 'backup', src]));

  const snapshots = (await ok(holdfast(['-r', repo, 'list', 'snapshots']))).stdout.trim().split('\n');
  assert.equal(snapshots.length, 1);
  const sn = decodeSnapshot((await ok(holdfast(['-r', repo, 'cat', 'snapshot', snapshots[0]!]))).stdoutBytes);
  assert.deepEqual(sn.paths, [src]);
  for (const index of (await ok(holdfast(['-r', repo, 'list', 'index']))).stdout.trim().split('\n')) {
    const doc = JSON.parse((await ok(holdfast(['-r', repo, 'cat', 'index', index]))).stdout);
    assert.ok(doc.packs.length > 0);
  }

  // Every blob restic stored loads, decompresses and hashes to its id; some of them are zstd-compressed.
  const r = await openRepository(new LocalBackend(repo), 'test-password');
  t.after(() => r.close());
  await r.loadIndex();
  let compressed = 0;
  for (const b of r.index.entries()) {
    const plain = await r.loadBlob(b.type, b.id);
    assert.equal(hashId(plain), b.id);
    if (b.uncompressedLength !== undefined) compressed++;
    if (b.type === 'tree') assert.ok(Array.isArray(decodeTree(plain)));
  }
  assert.ok(compressed > 0, 'restic 0.14 compresses in a version 2 repository');
  assert.match((await ok(holdfast(['-r', repo, 'check', '--read-data']))).stdout, /no errors were found/);
});

test('restic reads blobs and packs from holdfast\'s packer and checks a snapshot holdfast wrote', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const repo = join(await tempDir(t), 'repo');
  await ok(holdfast(['-r', repo, 'init']));
  const contents = [Buffer.from('compressible '.repeat(100_000)), randomBytes(700_000), Buffer.from('small')];
  for (const compression of ['auto', 'off'] as const) {
    const r = await openRepository(new LocalBackend(repo), 'test-password', { compression, packSize: 512 * 1024 });
    await r.loadIndex();
    const now = goTimeFromDate(new Date());
    const nodes = [];
    for (const [i, data] of contents.entries()) {
      const blob = await r.saveBlob('data', data);
      nodes.push(makeNode({ name: Buffer.from(`file-${compression}-${i}`), type: 'file', mode: 0o644, mtime: now, atime: now, ctime: now, size: BigInt(data.length), links: 1n, content: [blob.id] }));
    }
    const tree = encodeTree(nodes);
    const treeId = (await r.saveBlob('tree', tree)).id;
    await r.flush();
    await saveSnapshot(r, { time: now, tree: treeId, paths: ['/handmade'], hostname: 'test', username: 'test' });
    await r.close();
  }
  for (const data of contents) {
    const out = await ok(restic(['-r', repo, 'cat', 'blob', hashId(data)]));
    assert.ok(out.stdoutBytes.equals(data));
  }
  // Three distinct data blobs, stored once although saved in both sessions, and two trees.
  const blobs = (await ok(restic(['-r', repo, 'list', 'blobs']))).stdout.trim().split('\n');
  assert.equal(blobs.filter((l) => l.startsWith('data ')).length, 3);
  assert.equal(blobs.filter((l) => l.startsWith('tree ')).length, 2);
  const check = await ok(restic(['-r', repo, 'check', '--read-data']));
  assert.match(check.stdout, /no errors were found/);
});
