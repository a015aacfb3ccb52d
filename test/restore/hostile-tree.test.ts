// A hand-made snapshot with names that escape the target, a socket, a foreign type and a missing
// blob: each is refused or skipped and reported, and the rest is restored.

import assert from 'node:assert/strict';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { GoMode } from '../../src/format/file-mode.js';
import { goTimeFromDate } from '../../src/format/go-json.js';
import { randomId } from '../../src/format/id.js';
import { makeNode, type Node } from '../../src/format/node.js';
import { encodeTree } from '../../src/format/tree.js';
import { openRepository } from '../../src/repository/keys.js';
import { saveSnapshot } from '../../src/repository/snapshots.js';
import { restoreSnapshot } from '../../src/restore/restorer.js';
import { holdfast, ok, testEnv } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

test('names that escape the target, sockets, foreign types and missing blobs are reported, the rest restored', async (t) => {
  const dir = await tempDir(t);
  const repoPath = join(dir, 'repo');
  await ok(holdfast(['-r', repoPath, 'init']));
  const repo = await openRepository(new LocalBackend(repoPath), testEnv.HOLDFAST_PASSWORD);
  t.after(() => repo.close());
  await repo.loadIndex();
  const now = goTimeFromDate(new Date('2022-02-02T02:02:02.123456789Z'));
  const file = async (name: string, text: string): Promise<Node> => {
    const blob = await repo.saveBlob('data', Buffer.from(text));
    return makeNode({ name: Buffer.from(name), type: 'file', mode: 0o644, mtime: now, atime: now, ctime: now, size: BigInt(text.length), links: 1n, content: [blob.id] });
  };
  const inner = encodeTree([await file('..', 'evil inside'), await file('fine', 'fine inside')]);
  const sub = makeNode({ name: Buffer.from('sub'), type: 'dir', mode: (GoMode.dir | 0o755) >>> 0, mtime: now, atime: now, ctime: now, subtree: (await repo.saveBlob('tree', inner)).id });
  const root = encodeTree([
    await file('..', 'evil'),
    await file('a/b', 'evil too'),
    await file('ok.txt', 'good'),
    makeNode({ name: Buffer.from('missing.bin'), type: 'file', mode: 0o644, mtime: now, atime: now, ctime: now, size: 5n, links: 1n, content: [randomId()] }),
    makeNode({ name: Buffer.from('sock'), type: 'socket', mode: (GoMode.socket | 0o755) >>> 0, mtime: now, atime: now, ctime: now }),
    makeNode({ name: Buffer.from('reparse'), type: 'irregular', mode: (GoMode.irregular | 0o644) >>> 0, mtime: now, atime: now, ctime: now }),
    sub,
  ]);
  const treeId = (await repo.saveBlob('tree', root)).id;
  await repo.flush();
  await saveSnapshot(repo, { time: now, tree: treeId, paths: ['/hostile'], hostname: 'test', username: 'test' });

  const target = join(dir, 'deep', 'target');
  const before = await readdir(dir);
  const result = await restoreSnapshot(repo, 'latest', '/', target);
  const messages = result.errors.map((e) => `${e.location}: ${e.message}`);
  assert.equal(messages.filter((m) => /invalid node name/.test(m)).length, 3, messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith('/missing.bin: ') && /not in the index/.test(m)), messages.join('\n'));
  assert.equal(result.errors.length, 4);
  assert.equal(result.counts.filesSkipped, 2, 'the socket and the foreign type');
  assert.equal(await readFile(join(target, 'ok.txt'), 'utf8'), 'good');
  assert.equal(await readFile(join(target, 'sub/fine'), 'utf8'), 'fine inside');
  assert.deepEqual((await readdir(target)).sort(), ['ok.txt', 'sub']);
  assert.deepEqual((await readdir(dir)).sort(), [...before, 'deep'].sort(), 'nothing was written beside the target');
  assert.deepEqual(await readdir(join(dir, 'deep')), ['target']);
  await assert.rejects(lstat(join(target, 'missing.bin')), { code: 'ENOENT' });
  assert.equal((await lstat(join(target, 'ok.txt'))).mtimeMs, Date.parse('2022-02-02T02:02:02.123Z'));

  // The same through the command line: the errors are named, and the exit code says so.
  const cli = await holdfast(['-r', repoPath, 'restore', 'latest', '--target', join(dir, 'cli')]);
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /ignoring error for \/missing\.bin: /);
  assert.match(cli.stderr, /There were 4 errors/);
});
