// copy between repositories with other keys and polynomials: restic checks and restores the copies,
// trees arrive byte for byte (unknown fields too), and a second copy, by holdfast or restic, copies nothing.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { goTimeFromDate } from '../../src/format/go-json.js';
import { openRepository } from '../../src/repository/keys.js';
import { saveSnapshot } from '../../src/repository/snapshots.js';
import { dirDigest } from '../helpers/dir-digest.js';
import { holdfast, ok, restic, testEnv } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { assertResticCheck, assertRestores, buildHistory, type History } from './history.js';

/** The destination has its own password; the source's comes from --from-password-file. */
const dstEnv = { HOLDFAST_PASSWORD: 'destination-password', RESTIC_PASSWORD: 'destination-password', RESTIC_FROM_PASSWORD: testEnv.RESTIC_PASSWORD };

interface SnapshotJson {
  id: string;
  tree: string;
  original?: string;
}

async function snapshots(repo: string, env: Record<string, string> = {}): Promise<SnapshotJson[]> {
  return JSON.parse((await ok(restic(['-r', repo, '--no-lock', 'snapshots', '--json'], { env }))).stdout) as SnapshotJson[];
}

async function polynomial(repo: string, env: Record<string, string> = {}): Promise<string> {
  return (JSON.parse((await ok(restic(['-r', repo, 'cat', 'config'], { env }))).stdout) as { chunker_polynomial: string }).chunker_polynomial;
}

test('copy to a repository with another key and polynomial: restic checks and restores it, and nothing is copied twice', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const h: History = await buildHistory(join(dir, 'src'), 51, 3, 'restic');
  const dst = join(dir, 'dst');
  await ok(holdfast(['-r', dst, 'init'], { env: dstEnv }));
  assert.notEqual(await polynomial(dst, dstEnv), await polynomial(h.repo));
  const passwordFile = join(dir, 'source-password');
  await writeFile(passwordFile, testEnv.HOLDFAST_PASSWORD + '\n');
  const copyArgs = ['-r', dst, 'copy', '--from-repo', h.repo, '--from-password-file', passwordFile];

  // First only the latest snapshot, then all: the one copied already is skipped.
  const first = await ok(holdfast([...copyArgs, 'latest'], { env: dstEnv }));
  assert.match(first.stdout, /copy started/);
  const all = await ok(holdfast(copyArgs, { env: dstEnv }));
  assert.equal((all.stdout.match(/skipping source snapshot/g) ?? []).length, 1);
  assert.equal((all.stdout.match(/ saved$/gm) ?? []).length, h.order.length - 1);

  await assertResticCheck(dst, true, dstEnv);
  const copied = await snapshots(dst, dstEnv);
  const source = await snapshots(h.repo);
  assert.deepEqual(copied.map((s) => s.original).sort(), source.map((s) => s.id).sort(), 'each copy names its original');
  for (const c of copied) assert.equal(c.tree, source.find((s) => s.id === c.original)!.tree, 'trees are copied as they are: same bytes, same id');

  // Restore each copy and compare with what its original was taken of.
  const byCopy: History = { ...h, repo: dst, snapshots: new Map(copied.map((c) => [c.id, h.snapshots.get(c.original!)!])) };
  await assertRestores(byCopy, copied.map((c) => c.id), join(dir, 'restore'), dst, dstEnv);

  const before = await dirDigest(dst);
  const again = await ok(holdfast(copyArgs, { env: dstEnv }));
  assert.equal((again.stdout.match(/skipping source snapshot/g) ?? []).length, h.order.length);
  const byRestic = await ok(restic(['-r', dst, 'copy', '--from-repo', h.repo], { env: dstEnv }));
  assert.equal((byRestic.stdout.match(/skipping source snapshot/g) ?? []).length, h.order.length, 'restic sees the copies too');
  assert.equal(await dirDigest(dst), before, 'a second copy writes nothing');
});

test('copy keeps a tree byte for byte, fields it does not know included, and skips what restic copied', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const srcPath = join(dir, 'src');
  await ok(holdfast(['-r', srcPath, 'init']));
  const repo = await openRepository(new LocalBackend(srcPath), testEnv.HOLDFAST_PASSWORD);
  const data = Buffer.from('payload\n');
  let tree: Buffer;
  try {
    const blob = (await repo.saveBlob('data', data)).id;
    // As a newer restic might write it: extra node fields and an extra top-level key.
    tree = Buffer.from(
      `{"nodes":[{"name":"f","type":"file","mode":420,"mtime":"2024-01-02T03:04:05Z","atime":"2024-01-02T03:04:05Z","ctime":"2024-01-02T03:04:05Z","uid":0,"gid":0,"size":8,"links":1,"content":["${blob}"],"generic_attributes":{"windows.attributes":"AQ=="},"future":[1,2]}],"meta":{"v":3}}\n`,
    );
    const id = (await repo.saveBlob('tree', tree)).id;
    await repo.flush();
    await saveSnapshot(repo, { time: goTimeFromDate(new Date()), tree: id, paths: ['/x'], hostname: 'h' });
  } finally {
    await repo.close();
  }
  const viaRestic = join(dir, 'via-restic');
  const viaHoldfast = join(dir, 'via-holdfast');
  await ok(restic(['-r', viaRestic, 'init']));
  await ok(restic(['-r', viaRestic, 'copy', '--from-repo', srcPath], { env: { RESTIC_FROM_PASSWORD: testEnv.RESTIC_PASSWORD } }));
  await ok(restic(['-r', viaHoldfast, 'init']));
  await ok(holdfast(['-r', viaHoldfast, 'copy', '--from-repo', srcPath], { env: { HOLDFAST_FROM_PASSWORD: testEnv.HOLDFAST_PASSWORD } }));
  for (const dst of [viaRestic, viaHoldfast]) {
    await assertResticCheck(dst);
    const [sn] = await snapshots(dst);
    const bytes = (await ok(restic(['-r', dst, 'cat', 'blob', sn!.tree]))).stdoutBytes;
    assert.deepEqual(bytes, tree, 'the tree arrives byte for byte');
  }
  // Copies made by restic count as copies for holdfast, and the other way round.
  const skip = await ok(holdfast(['-r', viaRestic, 'copy', '--from-repo', srcPath], { env: { HOLDFAST_FROM_PASSWORD: testEnv.HOLDFAST_PASSWORD } }));
  assert.match(skip.stdout, /skipping source snapshot/);
  const target = join(dir, 'restore');
  await ok(restic(['-r', viaHoldfast, 'restore', 'latest', '--target', target]));
  assert.deepEqual(await readFile(join(target, 'f')), data);
});
