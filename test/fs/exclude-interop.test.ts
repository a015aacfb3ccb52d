// Exclude semantics against restic 0.14 itself: for each option set, restic backs up a generated
// tree and the paths in its snapshot must be exactly the paths our walk with those rules yields.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { ExcludeRules, type ExcludeOptions } from '../../src/fs/exclude-rules.js';
import { walk } from '../../src/fs/walk.js';
import { tempDir } from '../helpers/tmp.js';
import { isRoot, requireTools } from '../helpers/tools.js';
import { resticPeer } from './restic-peer.js';

const run = promisify(execFile);

/** Files (with their sizes) and symlinks that exercise every kind of rule. */
const files: Record<string, number> = {
  'a/keep/f': 1,
  'a/drop/f': 1,
  'a/drop/keep': 1,
  'b/c/d/x.o': 1,
  'b/c/y.txt': 1,
  'b/e.o': 1,
  'b/x.o/inner': 1,
  'cache/CACHEDIR.TAG': 0,
  'cache/data': 1,
  'cache/sub/more': 1,
  'badcache/CACHEDIR.TAG': 0,
  'badcache/data': 1,
  'shortcache/CACHEDIR.TAG': 0,
  'shortcache/data': 1,
  'tagged/.nobackup': 0,
  'tagged/other': 1,
  'tagged/sub/deeper': 1,
  'headed/.hdr': 0,
  'headed/x': 1,
  'wronghead/.hdr': 0,
  'wronghead/x': 1,
  'Foo/BAR.TXT': 1,
  'Foo/baz.txt': 1,
  'foo/lower': 1,
  'ÄÖÜ/Straße': 1,
  'big': 3000,
  'medium': 1500,
  'edge1k': 1024,
  'edge1k1': 1025,
  'node_modules/x/y': 1,
  'src/node_modules/z': 1,
  'src/main.c': 1,
  'src/main.o': 1,
  'deep/1/2/3/4/file.o': 1,
  'deep/1/2/file.c': 1,
  'deep/1/other/4/file.o': 1,
  'sp ace/file': 1,
  '[br]ack/x': 1,
  'star*name': 1,
  'dollar$sign': 1,
  'env-dir/VALUE/f': 1,
  'q?mark/f': 1,
  'mnt/.keep': 1,
};

const signature = 'Signature: 8a477f597d28d172789f06886806bc55';
const contents: Record<string, string> = {
  'cache/CACHEDIR.TAG': `${signature}\n# a cache\n`,
  'badcache/CACHEDIR.TAG': 'Signature: 00000000000000000000000000000000\n',
  'shortcache/CACHEDIR.TAG': 'Signature: 8a47',
  'headed/.hdr': 'KEEPOUT and more',
  'wronghead/.hdr': 'KEEPIN',
};

async function makeTree(root: string): Promise<void> {
  for (const [rel, size] of Object.entries(files)) {
    const path = join(root, rel);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, contents[rel] ?? Buffer.alloc(size, 0x61));
  }
  await symlink('x'.repeat(200), join(root, 'longlink'));
  await symlink('short', join(root, 'shortlink'));
}

interface Case {
  name: string;
  options: ExcludeOptions;
  /** restic's flags for the same options (file names relative to the test directory). */
  flags: string[];
  /** Only with a second file system mounted inside the tree. */
  needsMount?: boolean;
}

function cases(data: string, dir: string): Case[] {
  const exclude = (...patterns: string[]): Case => ({
    name: `--exclude ${patterns.join(' ')}`,
    options: { exclude: patterns },
    flags: patterns.flatMap((p) => ['--exclude', p]),
  });
  const iexclude = (...patterns: string[]): Case => ({
    name: `--iexclude ${patterns.join(' ')}`,
    options: { iexclude: patterns },
    flags: patterns.flatMap((p) => ['--iexclude', p]),
  });
  return [
    { name: 'no options', options: {}, flags: [] },
    exclude('*.o'),
    exclude('node_modules'),
    exclude(`${data}/a`),
    exclude('a/drop'),
    exclude('keep'),
    exclude('b/**/*.o'),
    exclude('deep/**/4'),
    exclude('/**/file.o'),
    exclude(`${data}/*/c`),
    exclude(`${data}/b/`),
    exclude('./src/../src/main.?'),
    exclude('[a-c]'),
    exclude('[^a-z]*'),
    exclude('\\[br\\]ack', 'star\\*name'),
    exclude('q\\?mark'),
    exclude('*/f'),
    exclude(`${data}/a/*`, `!${data}/a/keep`),
    exclude('*.o', '!x.o', '!file.o', 'deep/1/2'),
    exclude('f', '!*/drop/*'),
    exclude(data),
    iexclude('foo'),
    iexclude('*.TXT'),
    iexclude('äöü/STRASSE', 'ÄÖÜ/straße'),
    { name: '--exclude --iexclude together', options: { exclude: ['*.c'], iexclude: ['SRC/NODE_MODULES'] }, flags: ['--exclude', '*.c', '--iexclude', 'SRC/NODE_MODULES'] },
    {
      name: '--exclude-file with comments, blanks, variables and a BOM',
      options: { excludeFile: [join(dir, 'excludes.txt')] },
      flags: ['--exclude-file', join(dir, 'excludes.txt')],
    },
    {
      name: '--iexclude-file and --exclude-file',
      options: { iexcludeFile: [join(dir, 'iexcludes.txt')], excludeFile: [join(dir, 'excludes-crlf.txt')] },
      flags: ['--iexclude-file', join(dir, 'iexcludes.txt'), '--exclude-file', join(dir, 'excludes-crlf.txt')],
    },
    { name: '--exclude-if-present', options: { excludeIfPresent: ['.nobackup'] }, flags: ['--exclude-if-present', '.nobackup'] },
    {
      name: '--exclude-if-present with a header',
      options: { excludeIfPresent: ['.hdr:KEEPOUT', '.nobackup'] },
      flags: ['--exclude-if-present', '.hdr:KEEPOUT', '--exclude-if-present', '.nobackup'],
    },
    { name: '--exclude-caches', options: { excludeCaches: true }, flags: ['--exclude-caches'] },
    { name: '--exclude-larger-than 1k', options: { excludeLargerThan: '1k' }, flags: ['--exclude-larger-than', '1k'] },
    { name: '--exclude-larger-than 100', options: { excludeLargerThan: '100' }, flags: ['--exclude-larger-than', '100'] },
    { name: '--exclude-larger-than 2K', options: { excludeLargerThan: '2K' }, flags: ['--exclude-larger-than', '2K'] },
    { name: '--one-file-system', options: { oneFileSystem: true }, flags: ['--one-file-system'], needsMount: true },
    {
      name: 'everything at once',
      options: { exclude: ['*.o'], iexclude: ['FOO'], excludeCaches: true, excludeLargerThan: '1k', excludeIfPresent: ['.nobackup'], oneFileSystem: true },
      flags: ['--exclude', '*.o', '--iexclude', 'FOO', '--exclude-caches', '--exclude-larger-than', '1k', '--exclude-if-present', '.nobackup', '--one-file-system'],
      needsMount: true,
    },
  ];
}

async function writeExcludeFiles(dir: string): Promise<void> {
  const bom = '\ufeff';
  await writeFile(
    join(dir, 'excludes.txt'),
    `${bom}# comment line\n\n   \n  *.o  \n\t# indented comment\n$HF_SUB/keep\n\${HF_DIR}/VALUE\n$HF_UNSET/main.c\ndollar$$sign\nsp ace\n`,
  );
  await writeFile(join(dir, 'iexcludes.txt'), 'FOO\n*.TXT');
  await writeFile(join(dir, 'excludes-crlf.txt'), '# windows\r\nmain.c\r\n\r\nbig\r\n');
}

/**
 * Mounts a tmpfs at data/mnt with a file and a directory in it; false when that is not possible
 * here. The returned cleanup unmounts it before the directory is removed.
 */
async function mountTmpfs(t: TestContext, data: string): Promise<boolean> {
  if (!isRoot) return false;
  const mnt = join(data, 'mnt');
  try {
    await run('mount', ['-t', 'tmpfs', 'holdfast-test', mnt]);
  } catch (err) {
    t.diagnostic(`no tmpfs mount: ${(err as Error).message}`);
    return false;
  }
  await mkdir(join(mnt, 'inner/deeper'), { recursive: true });
  await writeFile(join(mnt, 'file'), 'x');
  await writeFile(join(mnt, 'inner/deeper/file'), 'y');
  return true;
}

async function ourPaths(data: string, options: ExcludeOptions): Promise<string[]> {
  const source = Buffer.from(data);
  const env = { ...process.env, HF_SUB: 'a', HF_DIR: 'env-dir' };
  const rules = await ExcludeRules.load(options, { sources: [source], env });
  const paths: string[] = [];
  for await (const entry of walk([source], rules, () => undefined)) {
    // restic 0.14 leaves sockets out; there are none in this tree.
    paths.push(entry.path.toString());
  }
  return paths.sort();
}

test('walking with excludes yields exactly what restic 0.14 backs up', async (t) => {
  if (!requireTools(t, 'restic')) return;
  // Not tempDir(): the mount must go before the directory does.
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-test-'));
  const data = join(dir, 'data');
  let mounted = false;
  t.after(async () => {
    if (mounted) await run('umount', [join(data, 'mnt')]);
    await rm(dir, { recursive: true, force: true });
  });
  await makeTree(data);
  await writeExcludeFiles(dir);
  mounted = await mountTmpfs(t, data);
  const peer = await resticPeer(dir);
  const env = { HF_SUB: 'a', HF_DIR: 'env-dir' };

  const all = cases(data, dir).filter((c) => {
    if (c.needsMount && !mounted) t.diagnostic(`skipped without a mount: ${c.name}`);
    return mounted || !c.needsMount;
  });
  // restic takes about a second per backup: run a few at a time (backups share the repository).
  const snapshots = new Map<Case, string>();
  for (let i = 0; i < all.length; i += 4) {
    await Promise.all(all.slice(i, i + 4).map(async (c) => snapshots.set(c, await peer.backup([data], c.flags, { env }))));
  }
  for (const c of all) {
    const theirs = (await peer.paths(snapshots.get(c)!)).filter((p) => p === data || p.startsWith(data + '/')).sort();
    const ours = await ourPaths(data, c.options);
    assert.deepEqual(ours, theirs, c.name);
  }
  t.diagnostic(`${all.length} option sets agree with restic`);
});

test('our rules do exclude things in that tree (the comparison can fail)', async (t) => {
  const dir = await tempDir(t);
  const data = join(dir, 'data');
  await makeTree(data);
  const everything = await ourPaths(data, {});
  const fewer = await ourPaths(data, { exclude: ['*.o'] });
  assert.ok(everything.some((p) => p.endsWith('/main.o')));
  assert.ok(!fewer.some((p) => p.endsWith('.o') || p.includes('.o/')));
  assert.equal(everything.length - fewer.length, 7);
});
