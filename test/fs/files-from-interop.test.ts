// --files-from, --files-from-verbatim and --files-from-raw against restic 0.14: the source paths
// restic records in its snapshot must be the paths we read from the same list, in the same order.

import assert from 'node:assert/strict';
import { lstat, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { readFilesFrom, type FilesFromKind } from '../../src/fs/files-from.js';
import { absolutePath } from '../../src/fs/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { resticPeer } from './restic-peer.js';

const flags: Record<FilesFromKind, string> = { glob: '--files-from', verbatim: '--files-from-verbatim', raw: '--files-from-raw' };

test('files-from lists name the sources restic 0.14 backs up', async (t) => {
  if (!requireTools(t, 'restic')) return;
  const dir = await tempDir(t);
  for (const sub of ['src/d1', 'src/d2', 'src/[x]', 'src/sp ace']) await mkdir(join(dir, sub), { recursive: true });
  for (const file of ['src/d1/a.txt', 'src/d1/b.txt', 'src/d1/c.md', 'src/d2/a.txt', 'src/[x]/f', 'src/sp ace/g', 'src/top']) {
    await writeFile(join(dir, file), file);
  }
  const lists: Record<FilesFromKind, string | Buffer> = {
    glob: ['# comment', '', '  src/d*/a.txt  ', `${dir}/src/d1/*`, 'src/\\[x\\]/?', 'src/nothing*', 'src/sp ace', '\tsrc/top'].join('\n') + '\n',
    verbatim: ['src/d1/a.txt', '', 'src/sp ace', 'src/missing', 'src/[x]/f', `${dir}/src/top`].join('\r\n'),
    raw: Buffer.from(['src/d2/a.txt', 'src/sp ace/g', `${dir}/src/d1`].map((p) => p + '\0').join('')),
  };
  const peer = await resticPeer(dir);
  for (const kind of ['glob', 'verbatim', 'raw'] as const) {
    const list = join(dir, `list-${kind}`);
    await writeFile(list, lists[kind]);
    const snapshot = await peer.backup([], [flags[kind], list]);
    const theirs = (JSON.parse((await peer.restic(['cat', 'snapshot', snapshot])).toString('utf8')) as { paths: string[] }).paths;

    const cwd = process.cwd();
    process.chdir(dir);
    let ours: string[];
    try {
      const paths = (await readFilesFrom(kind, list)).map((p) => absolutePath(p, dir));
      // restic then drops the sources that do not exist (with a warning).
      const exists = await Promise.all(paths.map((p) => lstat(p).then(() => true, () => false)));
      ours = paths.filter((_p, i) => exists[i]).map(String);
    } finally {
      process.chdir(cwd);
    }
    assert.deepEqual(ours, theirs, kind);
    assert.ok(ours.length >= 3, `${kind}: ${ours.length} paths`);
  }
});
