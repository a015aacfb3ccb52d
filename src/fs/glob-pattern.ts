// Go's filepath.Match syntax for one path component (`*`, `?`, `[...]` with `^` and ranges, `\`
// escapes), compiled once into the cheapest test that gives the same answers: equality, prefix,
// suffix, substring, or a RegExp.

import { invalidArgument } from '../errors.js';

export type NameTest = (name: string) => boolean;

type Token =
  | { kind: 'star' }
  | { kind: 'any' }
  | { kind: 'literal'; text: string }
  | { kind: 'class'; negated: boolean; ranges: Array<[number, number]> };

/** A bad pattern, reported as Go reports it (filepath.ErrBadPattern). */
function badPattern(pattern: string): never {
  throw invalidArgument(`invalid pattern ${JSON.stringify(pattern)}: syntax error in pattern`);
}

/**
 * One class member (after `[`, `^`, or a previous member), as Go's getEsc reads it: `-` and `]`
 * are not allowed unescaped, `\` escapes, and the class must go on after it.
 */
function classChar(pattern: string, i: number): [codePoint: number, next: number] {
  let c = pattern.codePointAt(i);
  if (c === undefined || c === 0x2d || c === 0x5d) badPattern(pattern);
  if (c === 0x5c) {
    i++;
    c = pattern.codePointAt(i);
    if (c === undefined) badPattern(pattern);
  }
  const next = i + (c > 0xffff ? 2 : 1);
  if (next >= pattern.length) badPattern(pattern);
  return [c, next];
}

function parseClass(pattern: string, start: number): [token: Token, next: number] {
  let i = start;
  const negated = pattern[i] === '^';
  if (negated) i++;
  const ranges: Array<[number, number]> = [];
  for (;;) {
    if (pattern[i] === ']' && ranges.length > 0) return [{ kind: 'class', negated, ranges }, i + 1];
    const [lo, afterLo] = classChar(pattern, i);
    let hi = lo;
    i = afterLo;
    if (pattern[i] === '-') [hi, i] = classChar(pattern, i + 1);
    ranges.push([lo, hi]);
  }
}

/** The pattern as tokens; throws for every pattern Go's Match rejects as malformed. */
function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal !== '') tokens.push({ kind: 'literal', text: literal });
    literal = '';
  };
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '*') {
      flush();
      if (tokens[tokens.length - 1]?.kind !== 'star') tokens.push({ kind: 'star' });
      i++;
    } else if (c === '?') {
      flush();
      tokens.push({ kind: 'any' });
      i++;
    } else if (c === '[') {
      flush();
      const [token, next] = parseClass(pattern, i + 1);
      tokens.push(token);
      i = next;
    } else if (c === '\\') {
      if (i + 1 >= pattern.length) badPattern(pattern);
      const cp = pattern.codePointAt(i + 1)!;
      literal += String.fromCodePoint(cp);
      i += cp > 0xffff ? 3 : 2;
    } else {
      literal += c;
      i++;
    }
  }
  flush();
  return tokens;
}

const hex = (cp: number): string => '\\u{' + cp.toString(16) + '}';

function classSource(token: Extract<Token, { kind: 'class' }>): string {
  // Go allows a range with lo > hi, which matches nothing; a RegExp would reject it.
  const members = token.ranges.filter(([lo, hi]) => lo <= hi).map(([lo, hi]) => (lo === hi ? hex(lo) : hex(lo) + '-' + hex(hi)));
  if (members.length === 0) return token.negated ? '[^/]' : '(?!)';
  return (token.negated ? '[^/' : '[') + members.join('') + ']';
}

function regexSource(tokens: Token[]): string {
  let source = '^';
  for (const token of tokens) {
    if (token.kind === 'star') source += '[^/]*';
    else if (token.kind === 'any') source += '[^/]';
    else if (token.kind === 'literal') source += [...token.text].map((ch) => (/[A-Za-z0-9_]/.test(ch) ? ch : hex(ch.codePointAt(0)!))).join('');
    else source += classSource(token);
  }
  return source + '$';
}

/**
 * A test for one path component (a file name, which never holds `/`) against a Go filepath.Match
 * pattern; throws an invalid-argument HoldfastError for a malformed pattern, as restic refuses
 * those before it starts. Runes are code points, as Go decodes UTF-8.
 */
export function compileGlob(pattern: string): NameTest {
  const tokens = tokenize(pattern);
  const kinds = tokens.map((t) => t.kind).join(',');
  const text = (i: number): string => (tokens[i] as { text: string }).text;
  switch (kinds) {
    case '':
      return (name) => name === '';
    case 'star':
      return () => true;
    case 'literal': {
      const literal = text(0);
      return (name) => name === literal;
    }
    case 'star,literal': {
      const suffix = text(1);
      return (name) => name.endsWith(suffix);
    }
    case 'literal,star': {
      const prefix = text(0);
      return (name) => name.startsWith(prefix);
    }
    case 'star,literal,star': {
      const middle = text(1);
      return (name) => name.includes(middle);
    }
    default: {
      const re = new RegExp(regexSource(tokens), 'u');
      return (name) => re.test(name);
    }
  }
}

/** The one name a pattern without wildcards matches (escapes removed), or undefined if it has any. */
export function globLiteral(pattern: string): string | undefined {
  const tokens = tokenize(pattern);
  if (tokens.length === 0) return '';
  return tokens.length === 1 && tokens[0]!.kind === 'literal' ? tokens[0]!.text : undefined;
}

/** Whether the pattern has any of Go's glob meta characters (filepath.Glob's hasMeta on Unix). */
export function hasGlobMeta(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}
