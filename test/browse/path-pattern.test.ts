// restic's find patterns: component globs anywhere in relative patterns, anchored absolute ones,
// `**` for any depth, Go's glob syntax and its errors, and which directories may hold a match.

import assert from 'node:assert/strict';
import test from 'node:test';
import { childMayMatch, compileGlob, matchPath, parsePathPattern } from '../../src/browse/path-pattern.js';

const match = (pattern: string, path: string) => matchPath(parsePathPattern(pattern), path);

test('relative patterns match any run of components, absolute ones only from the root', () => {
  const cases: Array<[string, string, boolean]> = [
    ['', '/anything/at/all', true],
    ['*.txt', '/home/user/notes.txt', true],
    ['*.txt', '/home/user/notes.md', false],
    ['user', '/home/user', true],
    ['user', '/home/user/notes.txt', true],
    ['home/user', '/home/user/x', true],
    ['user/home', '/home/user/x', false],
    ['/home', '/home/user/x', true],
    ['/user', '/home/user', false],
    ['/home/*', '/home', false],
    ['/home/*', '/home/user', true],
    ['/home/*/notes.*', '/home/user/notes.txt', true],
    ['/home/*notes.*', '/home/user/notes.txt', false],
    ['/home//user/', '/home/user', true],
    ['/home/../etc', '/etc/passwd', true],
    ['Notes.txt', '/home/user/notes.txt', false],
    ['!notes.txt', '/home/user/notes.txt', true],
  ];
  for (const [pattern, path, expected] of cases) assert.equal(match(pattern, path), expected, `${pattern} on ${path}`);
});

test('** stands for any number of directories, including none', () => {
  const cases: Array<[string, string, boolean]> = [
    ['**', '/a/b/c', true],
    ['a/**/z/*.go', '/x/a/b/c/z/main.go', true],
    ['a/**/z/*.go', '/a/z/main.go', true],
    ['a/**/z/*.go', '/a/z/y/main.go', false],
    ['a/**/z', '/a/b/z/deeper', true],
    ['/a/**/c', '/a/c', true],
    ['/a/**/c', '/x/a/c', false],
    ['a/**/b/**/c', '/a/x/b/y/z/c', true],
  ];
  for (const [pattern, path, expected] of cases) assert.equal(match(pattern, path), expected, `${pattern} on ${path}`);
});

test('globs follow Go: ?, classes with ranges and ^, escapes; malformed ones are refused', () => {
  assert.ok(compileGlob('b?d').test('bad'));
  assert.ok(!compileGlob('b?d').test('bd'));
  assert.ok(compileGlob('[a-c]x').test('bx'));
  assert.ok(!compileGlob('[^a-c]x').test('bx'));
  assert.ok(compileGlob('[^a-c]x').test('dx'));
  assert.ok(compileGlob('\\*').test('*'));
  assert.ok(!compileGlob('\\*').test('x'));
  assert.ok(compileGlob('[\\]]').test(']'));
  assert.ok(compileGlob('?').test('é'), 'one character, not one byte');
  assert.ok(compileGlob('a.b').test('a.b') && !compileGlob('a.b').test('axb'));
  assert.ok(!compileGlob('[z-a]').test('m'), 'a reversed range matches nothing');
  for (const bad of ['[', '[]', '[a', '[a-', '[-a]', 'x\\', '[^]']) assert.throws(() => compileGlob(bad), /syntax error in pattern/, bad);
});

test('a directory is searched only where an absolute pattern can still match below it', () => {
  const p = parsePathPattern('/home/*/docs/*.txt');
  assert.equal(childMayMatch(p, '/home'), true);
  assert.equal(childMayMatch(p, '/home/user'), true);
  assert.equal(childMayMatch(p, '/home/user/docs'), true);
  assert.equal(childMayMatch(p, '/etc'), false);
  assert.equal(childMayMatch(p, '/home/user/music'), false);
  assert.equal(childMayMatch(parsePathPattern('notes.txt'), '/etc'), true);
  assert.equal(childMayMatch(parsePathPattern('/home/**/x'), '/home/a/b/c'), true);
  assert.equal(childMayMatch(parsePathPattern('/home/**/x'), '/srv/a'), false);
});
