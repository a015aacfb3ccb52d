// The text restic reads from users: sizes, exclude files (BOM, UTF-16, CRLF, comments, variables),
// tag specs and files-from lists, each parsed the way restic 0.14 parses it.

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { expandEnv } from '../../src/fs/env-expand.js';
import { readPatternFile } from '../../src/fs/exclude-rules.js';
import { parseRawNames, readFilesFrom } from '../../src/fs/files-from.js';
import { globFiles } from '../../src/fs/glob-files.js';
import { parseSize } from '../../src/size.js';
import { CACHEDIR_TAG, parseTagRule } from '../../src/fs/tag-files.js';
import { decodeTextBytes, goTrimSpace, splitLines } from '../../src/fs/text-file.js';
import type { FsWarning } from '../../src/fs/warning.js';
import { tempDir } from '../helpers/tmp.js';

test('sizes take restic suffixes', () => {
  assert.equal(parseSize('100'), 100n);
  assert.equal(parseSize('100b'), 100n);
  assert.equal(parseSize('1k'), 1024n);
  assert.equal(parseSize('2K'), 2048n);
  assert.equal(parseSize('3m'), 3n << 20n);
  assert.equal(parseSize('4G'), 4n << 30n);
  assert.equal(parseSize('5t'), 5n << 40n);
  assert.equal(parseSize('+7'), 7n);
  for (const bad of ['', 'k', '1.5M', '1 k', '1kb', '0x10', '1_000', '99999999999999999999']) assert.throws(() => parseSize(bad), /invalid size/, bad);
});

test('variables expand as Go os.Expand with restic lookup', () => {
  const env = { HOME: '/home/me', A_1: 'x', EMPTY: '' };
  const cases: Array<[string, string]> = [
    ['$HOME/.cache', '/home/me/.cache'],
    ['${HOME}/x', '/home/me/x'],
    ['$A_1$A_1', 'xx'],
    ['$UNSET/y', '/y'],
    ['a$$b', 'a$b'],
    ['${$}', '$'],
    ['cost: 5$', 'cost: 5$'],
    ['$-x', 'x'],
    ['$1st', 'st'],
    ['${}tail', 'tail'],
    ['${unclosed', 'unclosed'],
    ['$/x', '$/x'],
    ['${HOME', 'HOME'],
    ['no dollar', 'no dollar'],
  ];
  for (const [input, output] of cases) assert.equal(expandEnv(input, env), output, input);
});

test('text decoding: byte order marks, UTF-16 both ways, Go line splitting and trimming', () => {
  assert.deepEqual(decodeTextBytes(Buffer.from('\ufeffabc')), Buffer.from('abc'));
  const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a\u00e9\n', 'utf16le')]);
  assert.deepEqual(decodeTextBytes(le), Buffer.from('a\u00e9\n'));
  const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('x\u{1f600}', 'utf16le').swap16()]);
  assert.deepEqual(decodeTextBytes(be), Buffer.from('x\u{1f600}'));
  assert.deepEqual(decodeTextBytes(Buffer.from([0xff])), Buffer.from([0xff]));
  assert.deepEqual(splitLines(Buffer.from('a\r\nb\n\nc\r\r\nlast')).map(String), ['a', 'b', '', 'c\r', 'last']);
  assert.deepEqual(splitLines(Buffer.from('one\n')).map(String), ['one']);
  assert.deepEqual(splitLines(Buffer.alloc(0)), []);
  assert.equal(goTrimSpace('\u0085 \t x y \u3000\u00a0'), 'x y');
  // Go does not count U+FEFF as space; JavaScript's trim does.
  assert.equal(goTrimSpace('\ufeffx'), '\ufeffx');
});

test('exclude files: trimmed, comments and blanks skipped, variables expanded', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'excludes');
  await writeFile(file, '\ufeff# comment\r\n\r\n  *.o \r\n\t#indented\r\n$X/y\r\n#\r\n\\#literal\r\n');
  assert.deepEqual(await readPatternFile(file, { X: 'ex' }), ['*.o', 'ex/y', '\\#literal']);
  const utf16 = join(dir, 'utf16');
  await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a\nb\n', 'utf16le')]));
  assert.deepEqual(await readPatternFile(utf16, {}), ['a', 'b']);
});

test('tag specs split at the first colon', () => {
  assert.deepEqual(parseTagRule('.nobackup'), { name: Buffer.from('.nobackup'), header: Buffer.alloc(0) });
  assert.deepEqual(parseTagRule('T:a:b'), { name: Buffer.from('T'), header: Buffer.from('a:b') });
  assert.deepEqual(parseTagRule(CACHEDIR_TAG).header, Buffer.from('Signature: 8a477f597d28d172789f06886806bc55'));
  assert.throws(() => parseTagRule(''), /empty/);
  assert.throws(() => parseTagRule(':header'), /no name/);
});

test('raw lists need a NUL after every name', () => {
  assert.deepEqual(parseRawNames(Buffer.from('a\0b\xff\0', 'latin1')), [Buffer.from('a'), Buffer.from('b\xff', 'latin1')]);
  assert.deepEqual(parseRawNames(Buffer.alloc(0)), []);
  assert.throws(() => parseRawNames(Buffer.from('a\0b')), /trailing zero byte missing/);
  assert.throws(() => parseRawNames(Buffer.from('a\0\0')), /empty filename/);
});

test('files-from lists: globbed, verbatim and raw', async (t) => {
  const dir = await tempDir(t);
  for (const sub of ['d1', 'd2', 'd3/x']) await mkdir(join(dir, sub), { recursive: true });
  for (const file of ['d1/a.txt', 'd1/b.txt', 'd1/c.md', 'd2/a.txt', 'd3/x/a.txt', ' spaced ']) await writeFile(join(dir, file), '');
  await writeFile(Buffer.from(join(dir, 'd2/bad\xff.txt'), 'latin1'), '');

  const list = join(dir, 'list');
  await writeFile(list, `# comment\n\n  ${dir}/d1/*.txt  \n${dir}/d*/a.txt\n${dir}/nothing*\n${dir}/d2/*.txt\n${dir}/d1/c.md\n${dir}/missing\n`);
  const warnings: FsWarning[] = [];
  const globbed = await readFilesFrom('glob', list, { warn: (w) => void warnings.push(w) });
  assert.deepEqual(globbed.map((p) => p.toString('latin1')), [
    `${dir}/d1/a.txt`,
    `${dir}/d1/b.txt`,
    `${dir}/d1/a.txt`,
    `${dir}/d2/a.txt`,
    `${dir}/d2/a.txt`,
    `${dir}/d2/bad\xff.txt`,
    `${dir}/d1/c.md`,
  ]);
  assert.deepEqual(warnings.map((w) => w.path.toString()), [`${dir}/nothing*`, `${dir}/missing`]);

  const verbatim = join(dir, 'verbatim');
  await writeFile(verbatim, Buffer.from(`# not a comment\n\n ${dir}/d1/*.txt\nbad\xff\n`, 'latin1'));
  assert.deepEqual((await readFilesFrom('verbatim', verbatim)).map((p) => p.toString('latin1')), ['# not a comment', ` ${dir}/d1/*.txt`, 'bad\xff']);

  const stdin = Readable.from([Buffer.from('x\0y y\0')]);
  assert.deepEqual((await readFilesFrom('raw', '-', { stdin })).map(String), ['x', 'y y']);
});

test('glob: relative patterns, meta in directories, literal paths and bad patterns', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'a1/b'), { recursive: true });
  await mkdir(join(dir, 'a2/b'), { recursive: true });
  await writeFile(join(dir, 'a1/b/f'), '');
  await writeFile(join(dir, 'a2/b/f'), '');
  const glob = async (pattern: string): Promise<string[]> => (await globFiles(Buffer.from(pattern))).map(String);
  assert.deepEqual(await glob(`${dir}/a?/b/f`), [`${dir}/a1/b/f`, `${dir}/a2/b/f`]);
  assert.deepEqual(await glob(`${dir}/*/*`), [`${dir}/a1/b`, `${dir}/a2/b`]);
  assert.deepEqual(await glob(`${dir}//a1/./b`), [`${dir}//a1/./b`]);
  assert.deepEqual(await glob(`${dir}/a1//*`), [`${dir}/a1/b`]);
  assert.deepEqual(await glob(`${dir}/a1/b/f/*`), []);
  await assert.rejects(glob(`${dir}/[`), /syntax error in pattern/);
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    assert.deepEqual(await glob('a*'), ['a1', 'a2']);
    assert.deepEqual(await glob('./a1/*'), ['a1/b']);
  } finally {
    process.chdir(cwd);
  }
});
