// Interop with the real restic: a file restic backed up must chunk, with restic's own repository
// polynomial, into exactly the blob ids of the file's `content` list in restic's tree.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { chunkFile, degree, MIN_SIZE, parsePolynomial } from '../../src/chunker/index.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { pseudoRandom, sha256 } from './inputs.js';

const run = promisify(execFile);

interface TreeNode {
  name: string;
  type: string;
  subtree?: string;
  content?: string[] | null;
}

test("our chunk ids for a file equal the content list of restic's backup of it", async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  const env = {
    ...process.env,
    RESTIC_REPOSITORY: join(dir, 'repo'),
    RESTIC_PASSWORD: 'interop test',
    RESTIC_CACHE_DIR: join(dir, 'cache'),
  };
  const restic = async (...args: string[]): Promise<string> =>
    (await run('restic', ['--no-lock', ...args], { env, maxBuffer: 64 * 1024 * 1024 })).stdout;

  await run('restic', ['init'], { env });
  const config = JSON.parse(await restic('cat', 'config')) as { chunker_polynomial: string };
  const pol = parsePolynomial(config.chunker_polynomial);
  assert.equal(degree(pol), 53);

  const dataDir = join(dir, 'data');
  await mkdir(dataDir);
  const file = join(dataDir, 'file.bin');
  // Mostly random, with a zero run, which restic cuts at exactly MinSize.
  await writeFile(file, Buffer.concat([pseudoRandom(14 << 20, 'interop-1'), Buffer.alloc(3 * MIN_SIZE), pseudoRandom(5 << 20, 'interop-2')]));
  await run('restic', ['backup', '--quiet', dataDir], { env });

  const snapshots = JSON.parse(await restic('snapshots', '--json')) as { id: string }[];
  assert.equal(snapshots.length, 1);
  const snapshot = JSON.parse(await restic('cat', 'snapshot', snapshots[0].id)) as { tree: string };
  let tree = snapshot.tree;
  let node: TreeNode | undefined;
  for (const name of [...dataDir.split('/').filter((s) => s !== ''), 'file.bin']) {
    const nodes = (JSON.parse(await restic('cat', 'blob', tree)) as { nodes: TreeNode[] }).nodes;
    node = nodes.find((n) => n.name === name);
    assert.ok(node, `restic's tree has ${name}`);
    if (node.subtree !== undefined) tree = node.subtree;
  }
  const content = node?.content ?? [];
  assert.ok(content.length > 10, `restic cut the file into ${content.length} chunks`);

  for (const kernel of ['wasm', 'ts'] as const) {
    const ids: string[] = [];
    for await (const chunk of chunkFile(file, pol, { kernel })) ids.push(sha256(chunk));
    assert.deepEqual(ids, content, `${kernel} kernel, polynomial ${config.chunker_polynomial}`);
  }
});
