// Which nodes a restore writes, by restic's --include/--exclude rules against the path inside the
// restored tree: an include takes what lies below a match and walks the directories leading to it.

import { invalidArgument } from '../errors.js';
import { goToLower } from '../fs/go-lower.js';
import { matchesPath, parsePattern, type Pattern } from '../fs/patterns.js';

export interface SelectionPatterns {
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  /** Like include and exclude, ignoring case (restic's --iinclude, --iexclude). */
  readonly iinclude?: readonly string[];
  readonly iexclude?: readonly string[];
}

export interface Selected {
  /** The node itself is restored. */
  readonly selected: boolean;
  /** A directory whose children may be restored (walk into it). */
  readonly descend: boolean;
}

interface PatternGroup {
  readonly patterns: readonly Pattern[];
  readonly lower: boolean;
}

/**
 * restic's filter.ChildMatch: whether something below the path could match. A pattern that is not
 * anchored at the root can match at any depth; an anchored one must match the path so far, up to
 * its first `**`.
 */
function childMayMatch(pattern: Pattern, comps: readonly string[]): boolean {
  if (!pattern.anchored) return true;
  const span = pattern.parts.indexOf(null);
  const upTo = span >= 0 ? Math.min(comps.length, span) : comps.length;
  const n = Math.min(upTo, pattern.parts.length);
  for (let i = 0; i < n; i++) {
    const part = pattern.parts[i];
    if (part === null || part === undefined || !part(comps[i]!)) return false;
  }
  return true;
}

/** restic's filter.List / ListWithChild over one group: in order, a negated pattern takes back a match. */
function matchGroup(group: PatternGroup, comps: readonly string[], withChild: boolean): { matched: boolean; child: boolean } {
  const path = group.lower ? comps.map(goToLower) : comps;
  let matched = false;
  let child = false;
  for (const pattern of group.patterns) {
    const m = matchesPath(pattern, path);
    if (pattern.negated) {
      matched = matched && !m;
      child = child && !m;
    } else {
      matched = matched || m;
      child = child || (withChild ? childMayMatch(pattern, path) : true);
    }
  }
  return { matched, child };
}

function group(texts: readonly string[] | undefined, lower: boolean): PatternGroup {
  return { patterns: (texts ?? []).filter((t) => t !== '').map((t) => parsePattern(t, lower)), lower };
}

export class RestoreSelection {
  private readonly includes: PatternGroup[];
  private readonly excludes: PatternGroup[];

  /** Throws for malformed patterns, and when includes and excludes are mixed (restic refuses that too). */
  constructor(patterns: SelectionPatterns = {}) {
    this.includes = [group(patterns.include, false), group(patterns.iinclude, true)].filter((g) => g.patterns.length > 0);
    this.excludes = [group(patterns.exclude, false), group(patterns.iexclude, true)].filter((g) => g.patterns.length > 0);
    if (this.includes.length > 0 && this.excludes.length > 0) throw invalidArgument('exclude and include patterns are mutually exclusive');
  }

  get filtered(): boolean {
    return this.includes.length > 0 || this.excludes.length > 0;
  }

  /** The decision for the node at `comps` (its names from the restored tree's root). */
  select(comps: readonly string[], isDir: boolean): Selected {
    if (this.excludes.length > 0) {
      const excluded = this.excludes.some((g) => matchGroup(g, comps, false).matched);
      return { selected: !excluded, descend: !excluded && isDir };
    }
    if (this.includes.length > 0) {
      let selected = false;
      let child = false;
      for (const g of this.includes) {
        const r = matchGroup(g, comps, true);
        selected ||= r.matched;
        child ||= r.child;
      }
      return { selected, descend: child && isDir };
    }
    return { selected: true, descend: isDir };
  }
}
