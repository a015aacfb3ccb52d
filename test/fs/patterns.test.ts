// Pattern semantics in isolation: Go's filepath.Match per component, restic's filter rules
// (anchoring, `**`, prefixes, negation), and the incremental check a walk uses against the full one.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { compileGlob } from '../../src/fs/glob-pattern.js';
import { goToLower } from '../../src/fs/go-lower.js';
import { cleanPath } from '../../src/fs/go-path.js';
import { matchesPath, parsePattern, PatternList } from '../../src/fs/patterns.js';

test('components match as Go filepath.Match matches them', () => {
  const cases: Array<[pattern: string, name: string, match: boolean]> = [
    ['*', 'abc', true],
    ['*', '', true],
    ['a*', 'abc', true],
    ['a*', 'bac', false],
    ['*c', 'abc', true],
    ['*c', 'abd', false],
    ['a*c', 'abbc', true],
    ['a*b*c', 'axbxbxc', true],
    ['a*b*c', 'axbxbx', false],
    ['*x*', 'axb', true],
    ['*x*', 'ab', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['?', '\u00e9', true],
    ['??', '\u00e9', false],
    ['?', '\u{1f600}', true],
    ['[abc]', 'b', true],
    ['[abc]', 'd', false],
    ['[^abc]', 'd', true],
    ['[^abc]', 'a', false],
    ['[a-c]x', 'bx', true],
    ['[c-a]', 'b', false],
    ['[^c-a]', 'b', true],
    ['[a-ce-g]', 'f', true],
    ['[a-ce-g]', 'd', false],
    ['[\u00e9-\u00eb]', '\u00ea', true],
    ['\\*', '*', true],
    ['\\*', 'a', false],
    ['\\a\\?', 'a?', true],
    ['[\\]]', ']', true],
    ['[\\-]', '-', true],
    ['[[]', '[', true],
    ['[*]', '*', true],
    ['[*]', 'x', false],
    ['a]b', 'a]b', true],
    ['a^b', 'a^b', true],
    ['.*', '.hidden', true],
    ['*.tar.gz', 'x.tar.gz', true],
    ['*.tar.gz', 'x.tar.bz', false],
    ['$HOME', '$HOME', true],
    ['(x)+', '(x)+', true],
  ];
  for (const [pattern, name, match] of cases) assert.equal(compileGlob(pattern)(name), match, `${pattern} ~ ${name}`);
});

test('malformed components are refused as Go refuses them', () => {
  for (const bad of ['[', '[]', '[^]', '[a-]', '[-a]', 'a\\', '[a', '[\\', '[a-\\', 'x[]]', 'ok*[z']) {
    assert.throws(() => compileGlob(bad), /syntax error in pattern/, bad);
  }
  for (const good of [']', 'a]', ']a]', '[\\]a]', '\\[', '[a-b]']) assert.doesNotThrow(() => compileGlob(good), good);
});

const comps = (path: string): string[] => path.slice(1).split('/');
const matches = (pattern: string, path: string): boolean => matchesPath(parsePattern(pattern), comps(path));

test('restic filter semantics: anchoring, prefixes, any depth and **', () => {
  const cases: Array<[pattern: string, path: string, match: boolean]> = [
    ['foo', '/foo', true],
    ['foo', '/a/foo', true],
    ['foo', '/a/foo/bar', true],
    ['foo', '/afoo', false],
    ['foo', '/foo.txt', false],
    ['*.go', '/a/b.go', true],
    ['*.go', '/a/b.go/c', true],
    ['/a/b', '/a/b', true],
    ['/a/b', '/a/b/c', true],
    ['/a/b', '/x/a/b', false],
    ['/a/b/', '/a/b/c', true],
    ['a/b', '/x/a/b/c', true],
    ['a/b', '/x/a/c/b', false],
    ['/a/*/c', '/a/b/c', true],
    ['/a/*/c', '/a/b/x/c', false],
    ['/*', '/anything', true],
    ['/', '/anything/at/all', true],
    ['**', '/x', true],
    ['**/foo', '/a/b/foo', true],
    ['**/foo', '/foo', true],
    ['foo/**', '/foo', true],
    ['foo/**', '/x/foo/y', true],
    ['a/**/c', '/a/c', true],
    ['a/**/c', '/a/x/y/c', true],
    ['a/**/c', '/z/a/x/c/d', true],
    ['a/**/c', '/a/x/y/d', false],
    ['/a/**/c', '/a/x/c', true],
    ['/a/**/c', '/z/a/x/c', false],
    ['a/**/b/**/c', '/a/1/b/2/3/c', true],
    ['a/**/b/**/c', '/a/1/c/2/b', false],
    ['/a/./b/../c', '/a/c', true],
    ['x/../y', '/q/y', true],
    ['.', '/a', false],
  ];
  for (const [pattern, path, match] of cases) assert.equal(matches(pattern, path), match, `${pattern} ~ ${path}`);
});

test('lists combine in order: a negated pattern re-includes what came before it', () => {
  const excluded = (patterns: string[], path: string): boolean => new PatternList(patterns).matchesPath(comps(path));
  assert.equal(excluded(['*.o', '!keep.o'], '/src/keep.o'), false);
  assert.equal(excluded(['*.o', '!keep.o'], '/src/drop.o'), true);
  assert.equal(excluded(['!keep.o', '*.o'], '/src/keep.o'), true);
  assert.equal(excluded(['!foo'], '/foo'), false);
  assert.equal(excluded(['/a/*', '!/a/b', '/a/b/c'], '/a/b/c'), true);
  assert.equal(excluded(['/a/*', '!/a/b', '/a/b/c'], '/a/b/d'), false);
  assert.equal(excluded(['', 'x'], '/x'), true);
  assert.equal(new PatternList(['', '']).isEmpty, true);
});

test('--iexclude folds case as Go does, pattern and path alike', () => {
  assert.equal(goToLower('ABC'), 'abc');
  assert.equal(goToLower('\u0130stanbul'), 'istanbul');
  assert.equal(goToLower('\u03a3\u0391\u03a3'), '\u03c3\u03b1\u03c3');
  assert.equal(goToLower('STRASSE \u00c4\u00d6\u00dc'), 'strasse \u00e4\u00f6\u00fc');
  const list = new PatternList(['*.TXT', '\u00c4/B'], true);
  assert.equal(list.matchesPath(comps('/x/notes.txt').map(goToLower)), true);
  assert.equal(list.matchesPath(comps('/\u00e4/b').map(goToLower)), true);
  assert.equal(list.matchesPath(comps('/x/notes.md').map(goToLower)), false);
});

test('cleanPath is Go filepath.Clean', () => {
  const cases: Array<[string, string]> = [
    ['', '.'],
    ['.', '.'],
    ['/', '/'],
    ['//', '/'],
    ['a//b', 'a/b'],
    ['./a/', 'a'],
    ['/../a', '/a'],
    ['a/../..', '..'],
    ['../../a/..', '../..'],
    ['/a/./b/../c/', '/a/c'],
    ['a/b/../../..', '..'],
    ['**/', '**'],
  ];
  for (const [input, clean] of cases) assert.equal(cleanPath(input), clean, input);
});

/** Deterministic pseudo-random choices, so a failure can be reproduced. */
function chooser(seed: string): (n: number) => number {
  let counter = 0;
  return (n) => createHash('sha256').update(`${seed}/${counter++}`).digest().readUInt32BE(0) % n;
}

test('the per-directory check a walk uses agrees with matching whole paths', () => {
  const pick = chooser('patterns');
  const names = ['a', 'b', 'c', 'ab', 'x.o', 'keep'];
  const pool = ['a', 'b', '*.o', '/a', '/a/b', 'a/b', 'a/**/b', '**/c', '/**/x.o', 'b/**', '/*/c', '!a/b', '!*.o', '!/a', '?b', '[ab]', 'keep/a'];
  for (let round = 0; round < 300; round++) {
    const texts = Array.from({ length: 1 + pick(4) }, () => pool[pick(pool.length)]!);
    const list = new PatternList(texts);
    // Walk a random path down from the root, as a walk enters directories.
    let path: string[] = [names[pick(names.length)]!];
    let matched: Uint8Array | null = new Uint8Array(list.patterns.length);
    if (list.matchesPath(path, matched)) continue;
    for (let depth = 0; depth < 6; depth++) {
      const name = names[pick(names.length)]!;
      const child = [...path, name];
      const full = list.matchesPath(child);
      const next = new Uint8Array(list.patterns.length);
      assert.equal(list.matchesChild(list.hasNegation ? matched : null, path, child.length, name), full, `${texts.join(' ')} ~ /${child.join('/')}`);
      assert.equal(list.matchesChild(matched, path, child.length, name, next), full);
      if (full) break;
      path = child;
      matched = next;
    }
  }
});
