// Byte paths, sorted listings, account names and the walk's order: the plumbing under nodes and
// excludes, with names that are not UTF-8.

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadAccountNames, parseColonFile } from '../../src/fs/account-names.js';
import { ExcludeRules } from '../../src/fs/exclude-rules.js';
import { listDirectory } from '../../src/fs/list-directory.js';
import { absolutePath, baseName, dirName, joinPath } from '../../src/fs/paths.js';
import { walk } from '../../src/fs/walk.js';
import { tempDir } from '../helpers/tmp.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('byte paths join, split and resolve like Go paths', () => {
  assert.deepEqual(joinPath(b('/'), b('a')), b('/a'));
  assert.deepEqual(joinPath(b('/x'), b('a\xff')), b('/x/a\xff'));
  assert.deepEqual(joinPath(b('x/'), b('a')), b('x/a'));
  assert.deepEqual(baseName(b('/')), b('/'));
  assert.deepEqual(baseName(b('/a/b\xfe')), b('b\xfe'));
  assert.deepEqual(baseName(b('rel')), b('rel'));
  assert.deepEqual(dirName(b('/a')), b('/'));
  assert.deepEqual(dirName(b('/a/b/c')), b('/a/b'));
  assert.deepEqual(absolutePath('a/../b/./c/', '/cwd'), b('/cwd/b/c'));
  assert.deepEqual(absolutePath(b('//x/\xff/..//y'), '/cwd'), b('/x/y'));
  assert.deepEqual(absolutePath('..', '/'), b('/'));
});

test('listings are sorted by raw bytes and keep names that are not UTF-8', async (t) => {
  const dir = await tempDir(t);
  const names: Buffer[] = ['a', 'B', '_', '\u00e9', 'aa', '\u{1f600}'].map((n) => Buffer.from(n, 'utf8'));
  names.push(b('\xff'), b('a\x80'));
  for (const name of names) await writeFile(joinPath(b(dir), name), '');
  const listed = await listDirectory(b(dir));
  assert.deepEqual(listed, [...names].sort(Buffer.compare));
  assert.deepEqual(listed.slice(0, 3).map(String), ['B', '_', 'a']);
  assert.deepEqual(listed[listed.length - 1], b('\xff'));
});

test('account names: first entry wins, comments, blanks and malformed lines are skipped', async (t) => {
  const passwd = ['# comment', '', '  root:x:0:0:root:/root:/bin/sh', 'dup:x:0:0::/:/bin/sh', 'short:x:5', 'bad:x:abc:0::/:/bin/sh', 'big:x:4294967296:0::/:/bin/sh', 'svc:x:1000:1000:Service,,,:/srv:/bin/false'].join('\n');
  const users = parseColonFile(passwd, 7);
  assert.deepEqual([...users], [[0, 'root'], [1000, 'svc']]);
  const dir = await tempDir(t);
  await writeFile(join(dir, 'passwd'), passwd);
  await writeFile(join(dir, 'group'), 'wheel:x:10:root,svc\nempty:x:11:\nbroken:x:12\n');
  const names = await loadAccountNames(join(dir, 'passwd'), join(dir, 'group'));
  assert.equal(names.user(1000), 'svc');
  assert.equal(names.user(1), '');
  assert.equal(names.group(10), 'wheel');
  assert.equal(names.group(11), 'empty');
  assert.equal(names.group(12), '');
  const none = await loadAccountNames(join(dir, 'missing'), join(dir, 'missing'));
  assert.equal(none.user(0), '');
});

test('a walk yields each directory before its contents, in name order', async (t) => {
  const dir = await tempDir(t);
  const root = join(dir, 'r');
  await mkdir(join(root, 'b/inner'), { recursive: true });
  await mkdir(join(root, 'a'), { recursive: true });
  for (const f of ['b/inner/z', 'b/y', 'a/x', 'c']) await writeFile(join(root, f), '');
  const rules = await ExcludeRules.load({});
  const seen: string[] = [];
  for await (const e of walk([b(root)], rules, () => assert.fail('no warnings expected'))) seen.push(`${e.depth}:${e.path.toString().slice(dir.length)}`);
  assert.deepEqual(seen, ['0:/r', '1:/r/a', '2:/r/a/x', '1:/r/b', '2:/r/b/inner', '3:/r/b/inner/z', '2:/r/b/y', '1:/r/c']);

  const warnings: string[] = [];
  const missing = b(join(dir, 'missing'));
  for await (const e of walk([missing, b(join(root, 'c'))], rules, (w) => void warnings.push(w.path.toString()))) seen.push(e.path.toString());
  assert.equal(seen[seen.length - 1], join(root, 'c'));
  assert.deepEqual(warnings, [missing.toString()]);
});
