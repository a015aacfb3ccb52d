// restic's exclude patterns (internal/filter in 0.14): components matched with Go's filepath.Match,
// `**` spanning components, unanchored patterns matching anywhere, `!` re-including, built so that
// a walk checks each entry against its parent's result instead of the whole path again.

import { goToLower } from './go-lower.js';
import { cleanPath } from './go-path.js';
import { compileGlob, globLiteral, type NameTest } from './glob-pattern.js';

/** A `**` component: zero or more whole path components. */
const ANY_DEPTH = null;
type Part = NameTest | typeof ANY_DEPTH;

export interface Pattern {
  /** The text as given, for messages. */
  readonly text: string;
  /** `!pattern`: re-includes what earlier patterns of the same list excluded. */
  readonly negated: boolean;
  /** A pattern starting with `/` matches from the root; others match at any depth. */
  readonly anchored: boolean;
  /** The components after the leading `/` (anchored) or all of them. */
  readonly parts: readonly Part[];
  /** Whether any part is `**`; without one the parts align with the path one to one. */
  readonly spans: boolean;
  /** The parts that match a whole path when the match must end at its last component. */
  readonly endingParts: readonly Part[];
  /** The only name the last component can have, when the last part has no wildcards. */
  readonly finalName: string | undefined;
}

/**
 * Parses one pattern as restic's preparePattern does: a leading `!` negates, the rest is cleaned
 * with filepath.Clean and split at `/`; a component `**` (or the empty one of a bare `/`) spans
 * any number of components. Throws for a malformed glob, as restic refuses those at startup.
 */
export function parsePattern(text: string, caseInsensitive = false): Pattern {
  const folded = caseInsensitive ? goToLower(text) : text;
  const negated = folded.startsWith('!');
  const cleaned = cleanPath(negated ? folded.slice(1) : folded);
  const anchored = cleaned.startsWith('/');
  const components = (anchored ? cleaned.slice(1) : cleaned).split('/');
  const parts = components.map((c) => (c === '**' || c === '' ? ANY_DEPTH : compileGlob(c)));
  // Unanchored, the match may start anywhere: as if a `**` came first.
  const endingParts = anchored ? parts : [ANY_DEPTH, ...parts];
  const lastComponent = components[components.length - 1]!;
  const finalName = parts[parts.length - 1] === ANY_DEPTH ? undefined : globLiteral(lastComponent);
  return { text, negated, anchored, parts, spans: parts.includes(ANY_DEPTH), endingParts, finalName };
}

/**
 * Whether `parts` match the whole path comps[0..n-2] + last exactly, where ANY_DEPTH matches zero
 * or more components: the classic wildcard scan that backtracks to the most recent `**` only.
 */
function matchAll(parts: readonly Part[], comps: readonly string[], n: number, last: string): boolean {
  let p = 0;
  let c = 0;
  let spanPart = -1;
  let spanStart = 0;
  while (c < n) {
    const part = parts[p];
    if (part === ANY_DEPTH) {
      spanPart = p++;
      spanStart = c;
      continue;
    }
    if (part !== undefined && part(c === n - 1 ? last : comps[c]!)) {
      p++;
      c++;
      continue;
    }
    if (spanPart < 0) return false;
    p = spanPart + 1;
    c = ++spanStart;
  }
  while (p < parts.length && parts[p] === ANY_DEPTH) p++;
  return p === parts.length;
}

/**
 * Whether the pattern matches the path comps[0..n-2] + last with a match that ends at `last`:
 * restic matches unanchored patterns at any offset and lets every pattern match a prefix of the
 * path, so a path matches iff this holds for it or for one of its ancestors.
 */
function matchesEndingAt(pattern: Pattern, comps: readonly string[], n: number, last: string): boolean {
  const parts = pattern.parts;
  const k = parts.length;
  if (!pattern.spans) {
    // One part per component: align the parts with the last k components (the name first,
    // which rejects most paths at once).
    if (pattern.anchored ? n !== k : n < k) return false;
    if (!(parts[k - 1] as NameTest)(last)) return false;
    for (let j = k - 2; j >= 0; j--) if (!(parts[j] as NameTest)(comps[n - k + j]!)) return false;
    return true;
  }
  // The last part, when it is a name test, must match the name: that rejects most paths at once.
  const final = parts[k - 1];
  if (final !== ANY_DEPTH && !final!(last)) return false;
  return matchAll(pattern.endingParts, comps, n, last);
}

/** Whether the pattern matches the path (the components after the root), as restic's filter.Match. */
export function matchesPath(pattern: Pattern, comps: readonly string[]): boolean {
  for (let n = comps.length; n >= 1; n--) if (matchesEndingAt(pattern, comps, n, comps[n - 1]!)) return true;
  return false;
}

/**
 * One list of patterns, combined as restic's filter.List: in order, a match of a pattern excludes
 * and a match of a negated one re-includes. `--exclude` and `--iexclude` are separate lists.
 */
export class PatternList {
  readonly patterns: readonly Pattern[];
  /** Without negated patterns a path can only match through its own components (see below). */
  readonly hasNegation: boolean;

  /** Patterns (without negation) by the literal name their last component must have. */
  private readonly byFinalName = new Map<string, Pattern[]>();
  /** The other patterns (without negation): their last part is a wildcard or `**`. */
  private readonly otherFinals: Pattern[] = [];

  constructor(texts: readonly string[], caseInsensitive = false) {
    this.patterns = texts.filter((t) => t !== '').map((t) => parsePattern(t, caseInsensitive));
    this.hasNegation = this.patterns.some((p) => p.negated);
    if (this.hasNegation) return;
    // Without negation the order does not matter, so most patterns are ruled out by one lookup
    // of the entry's name (names like node_modules or .git are the common exclude).
    for (const pattern of this.patterns) {
      if (pattern.finalName === undefined) this.otherFinals.push(pattern);
      else {
        const same = this.byFinalName.get(pattern.finalName);
        if (same) same.push(pattern);
        else this.byFinalName.set(pattern.finalName, [pattern]);
      }
    }
  }

  get isEmpty(): boolean {
    return this.patterns.length === 0;
  }

  /** Whether the list excludes the path, computed from scratch; `matched` receives each pattern's result. */
  matchesPath(comps: readonly string[], matched?: Uint8Array): boolean {
    let excluded = false;
    this.patterns.forEach((pattern, i) => {
      const m = matchesPath(pattern, comps);
      if (matched) matched[i] = m ? 1 : 0;
      excluded = pattern.negated ? excluded && !m : excluded || m;
    });
    return excluded;
  }

  /**
   * Whether the list excludes the child `last` of the directory comps[0..n-2], given which
   * patterns matched that directory (`parentMatched`). A directory the list excluded is never
   * entered, so without negated patterns no pattern matched the parent and it can be null.
   * `matched`, when given, receives each pattern's result for the child (for its own children).
   */
  matchesChild(parentMatched: Uint8Array | null, comps: readonly string[], n: number, last: string, matched?: Uint8Array): boolean {
    const patterns = this.patterns;
    if (!this.hasNegation && !matched) {
      const named = this.byFinalName.get(last);
      if (named) for (const pattern of named) if (matchesEndingAt(pattern, comps, n, last)) return true;
      for (const pattern of this.otherFinals) if (matchesEndingAt(pattern, comps, n, last)) return true;
      return false;
    }
    let excluded = false;
    for (let i = 0; i < patterns.length; i++) {
      const pattern = patterns[i]!;
      const final = pattern.finalName;
      const m =
        (parentMatched !== null && parentMatched[i] === 1) ||
        ((final === undefined || final === last) && matchesEndingAt(pattern, comps, n, last));
      if (matched) matched[i] = m ? 1 : 0;
      excluded = pattern.negated ? excluded && !m : excluded || m;
    }
    return excluded;
  }
}
