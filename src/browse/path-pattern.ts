// restic's path patterns (internal/filter): Go filepath.Match globs per path component, `**` for
// any number of directories, absolute patterns anchored at the root, relative ones matching anywhere.

import { posix } from 'node:path';
import { invalidArgument } from '../errors.js';

interface Part {
  /** '/' for the root of an absolute pattern, '' for `**`. */
  readonly text: string;
  /** Compiled glob, or undefined when the part is a plain name. */
  readonly glob: RegExp | undefined;
}

export interface PathPattern {
  readonly original: string;
  readonly parts: readonly Part[];
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

function escapeInClass(s: string): string {
  return s.replace(/[\\\]\[^-]/g, '\\$&');
}

/**
 * Go's filepath.Match syntax as a regular expression: `*` any run of characters, `?` one
 * character, `[...]` / `[^...]` classes with ranges, `\` escaping the next character. Malformed
 * globs are refused as Go refuses them (ErrBadPattern).
 */
export function compileGlob(glob: string): RegExp {
  const bad = () => invalidArgument(`syntax error in pattern "${glob}"`);
  const chars = [...glob];
  let re = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (++i >= chars.length) throw bad();
      re += escapeRegex(chars[i]!);
    } else if (c === '[') {
      i++;
      let cls = '';
      if (chars[i] === '^') {
        cls = '^';
        i++;
      }
      let ranges = 0;
      const literal = (): string => {
        let ch = chars[i];
        if (ch === undefined || ch === '-' || ch === ']') throw bad();
        if (ch === '\\') {
          ch = chars[++i];
          if (ch === undefined) throw bad();
        }
        // Go wants something after every class member, at least the closing bracket.
        if (++i >= chars.length) throw bad();
        return ch;
      };
      for (;;) {
        if (chars[i] === ']' && ranges > 0) break;
        if (i >= chars.length) throw bad();
        const lo = literal();
        let hi = lo;
        if (chars[i] === '-') {
          i++;
          hi = literal();
        }
        // A reversed range matches nothing in Go; a regex would refuse it.
        cls += lo.codePointAt(0)! <= hi.codePointAt(0)! ? `${escapeInClass(lo)}-${escapeInClass(hi)}` : '';
        ranges++;
      }
      re += cls === '' || cls === '^' ? (cls === '^' ? '[^/]' : '(?!)') : `[${cls}]`;
    } else re += escapeRegex(c);
  }
  return new RegExp(`^${re}$`, 'su');
}

/** Prepares a pattern as restic does: a leading `!` is dropped, the path is cleaned and split. */
export function parsePathPattern(pattern: string): PathPattern {
  const body = pattern.startsWith('!') ? pattern.slice(1) : pattern;
  const split = posix.normalize(body).replace(/(.)\/+$/, '$1').split('/');
  if (split[0] === '') split[0] = '/';
  const parts = split.map((text) => {
    const simple = !/[\\[\]*?]/.test(text);
    const part = text === '**' ? '' : text;
    return { text: part, glob: simple || part === '' ? undefined : compileGlob(text) };
  });
  return { original: pattern, parts };
}

/** A path split as restic splits it: `/a/b` is ['/', 'a', 'b']. */
export function splitPath(path: string): string[] {
  const parts = path.split('/');
  if (parts[0] === '') parts[0] = '/';
  return parts;
}

function partMatches(part: Part, name: string): boolean {
  return part.glob === undefined ? part.text === name : part.glob.test(name);
}

function doubleWildcardAt(parts: readonly Part[]): number {
  return parts.findIndex((p) => p.text === '');
}

const anyName: Part = { text: '*', glob: /^[^/]*$/su };

function matchParts(parts: readonly Part[], strs: readonly string[]): boolean {
  const pos = doubleWildcardAt(parts);
  if (pos >= 0) {
    // `**` stands for zero or more names: try each count in turn.
    for (let i = 0; i <= strs.length - parts.length + 1; i++) {
      const expanded = [...parts.slice(0, pos), ...Array<Part>(i).fill(anyName), ...parts.slice(pos + 1)];
      if (matchParts(expanded, strs)) return true;
    }
    return false;
  }
  if (parts.length === 0) return strs.length === 0;
  if (parts.length > strs.length) return false;
  let minOffset = 0;
  let maxOffset = strs.length - parts.length;
  if (parts[0]!.text === '/') maxOffset = 0;
  else if (strs[0] === '/') minOffset = 1;
  outer: for (let offset = maxOffset; offset >= minOffset; offset--) {
    for (let i = parts.length - 1; i >= 0; i--) {
      if (!partMatches(parts[i]!, strs[offset + i]!)) continue outer;
    }
    return true;
  }
  return false;
}

/** restic's filter.Match: does the path match the pattern (the empty pattern matches everything)? */
export function matchPath(pattern: PathPattern, path: string): boolean {
  if (pattern.original === '') return true;
  return matchParts(pattern.parts, splitPath(path));
}

/** restic's filter.ChildMatch: could something below the path match? */
export function childMayMatch(pattern: PathPattern, path: string): boolean {
  if (pattern.original === '') return true;
  if (pattern.parts[0]!.text !== '/') return true;
  let strs = splitPath(path);
  const pos = doubleWildcardAt(pattern.parts);
  if (pos >= 0 && strs.length >= pos) strs = strs.slice(0, pos);
  const l = Math.min(strs.length, pattern.parts.length);
  return matchParts(pattern.parts.slice(0, l), strs);
}
