// Everything that keeps an entry out of a backup, with restic 0.14's semantics: patterns, tag
// files, size and file-system boundaries, checked per directory so a walk pays little per entry.

import type { BigIntStats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { invalidArgument } from '../errors.js';
import { PosixMode } from '../format/file-mode.js';
import { expandEnv } from './env-expand.js';
import { goToLower } from './go-lower.js';
import { nameText } from './name-text.js';
import { baseName, dirName, joinPath } from './paths.js';
import { parsePattern, PatternList } from './patterns.js';
import { parseSize } from '../size.js';
import { CACHEDIR_TAG, excludedByTags, parseTagRule, tagsInDirectory, tagsInListing, type TagRule } from './tag-files.js';
import { goTrimSpace, readTextFile, splitLines } from './text-file.js';
import { ignoreWarnings, type WarningSink } from './warning.js';

/** restic's exclude options, by their flag names. */
export interface ExcludeOptions {
  exclude?: readonly string[];
  iexclude?: readonly string[];
  excludeFile?: readonly string[];
  iexcludeFile?: readonly string[];
  excludeIfPresent?: readonly string[];
  excludeCaches?: boolean;
  excludeLargerThan?: string;
  oneFileSystem?: boolean;
}

export interface ExcludeContext {
  /** The absolute, clean source paths: --one-file-system stays on each one's device. */
  sources?: readonly Buffer[];
  warn?: WarningSink;
  /** For `$VAR` in exclude files. */
  env?: NodeJS.ProcessEnv;
}

/** Patterns of exclude files: trimmed lines, without blank and `#` lines, variables expanded. */
export async function readPatternFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const patterns: string[] = [];
  for (const raw of splitLines(await readTextFile(file))) {
    const line = goTrimSpace(raw.toString('utf8'));
    if (line === '' || line.startsWith('#')) continue;
    patterns.push(expandEnv(line, env));
  }
  return patterns;
}

/** The list, or an error naming every malformed pattern, as restic refuses them before it starts. */
function patternList(flag: string, texts: readonly string[], caseInsensitive: boolean): PatternList {
  const invalid = texts.filter((text) => {
    if (text === '') return false;
    try {
      parsePattern(text, caseInsensitive);
      return false;
    } catch {
      return true;
    }
  });
  if (invalid.length > 0) throw invalidArgument(`${flag}: invalid pattern(s) provided:\n${invalid.join('\n')}`);
  return new PatternList(texts, caseInsensitive);
}

async function patternsOf(files: readonly string[] | undefined, env: NodeJS.ProcessEnv): Promise<string[]> {
  const patterns: string[] = [];
  for (const file of files ?? []) patterns.push(...(await readPatternFile(file, env)));
  return patterns;
}

const isDirStat = (st: BigIntStats): boolean => (Number(st.mode) & PosixMode.typeMask) === PosixMode.dir;

/** The path's components after the root, as the text patterns are matched against. */
function componentsOf(path: Buffer): string[] {
  const text = path.toString('latin1');
  return text === '/' ? [''] : text.slice(1).split('/').map((c) => nameText(Buffer.from(c, 'latin1')));
}

/**
 * The exclude configuration of one backup. A walk asks, in this order:
 * - for each source path: `excludesSource(path, st)`;
 * - for each directory it enters: `sourceDirectory(...)` for a source, else
 *   `parentRules.subdirectory(...)`, with the directory's sorted entry names;
 * - for each entry: `excludesName(name)` before lstat, then `excludesStat(st)` after it.
 * An excluded directory is not entered, so nothing below it is checked, as in restic.
 */
export class ExcludeRules {
  readonly excludes: PatternList;
  readonly iexcludes: PatternList;
  readonly tagRules: readonly TagRule[];
  readonly maxSize: bigint | undefined;
  /** Source path (latin1 text) -> its device, with --one-file-system. */
  readonly sourceDevices: ReadonlyMap<string, bigint> | undefined;
  readonly warn: WarningSink;

  private constructor(
    excludes: PatternList,
    iexcludes: PatternList,
    tagRules: TagRule[],
    maxSize: bigint | undefined,
    sourceDevices: Map<string, bigint> | undefined,
    warn: WarningSink,
  ) {
    this.excludes = excludes;
    this.iexcludes = iexcludes;
    this.tagRules = tagRules;
    this.maxSize = maxSize;
    this.sourceDevices = sourceDevices;
    this.warn = warn;
  }

  /** Reads the exclude files and checks every option; invalid input is an invalid-argument error. */
  static async load(options: ExcludeOptions, context: ExcludeContext = {}): Promise<ExcludeRules> {
    const env = context.env ?? process.env;
    const fromFiles = await patternsOf(options.excludeFile, env);
    const fromIFiles = await patternsOf(options.iexcludeFile, env);
    patternList('--exclude-file', fromFiles, false);
    patternList('--iexclude-file', fromIFiles, true);
    const excludes = patternList('--exclude', [...(options.exclude ?? []), ...fromFiles], false);
    const iexcludes = patternList('--iexclude', [...(options.iexclude ?? []), ...fromIFiles], true);

    const specs = [...(options.excludeIfPresent ?? [])];
    if (options.excludeCaches) specs.push(CACHEDIR_TAG);
    const tagRules = specs.map(parseTagRule);

    const maxSize = options.excludeLargerThan ? parseSize(options.excludeLargerThan) : undefined;

    let sourceDevices: Map<string, bigint> | undefined;
    if (options.oneFileSystem) {
      sourceDevices = new Map();
      for (const source of context.sources ?? []) sourceDevices.set(source.toString('latin1'), (await lstat(source, { bigint: true })).dev);
      if (sourceDevices.size === 0) throw invalidArgument('--one-file-system needs the source paths');
    }
    return new ExcludeRules(excludes, iexcludes, tagRules, maxSize, sourceDevices, context.warn ?? ignoreWarnings);
  }

  /** Whether no rule can exclude anything: a walk may skip every check. */
  get isEmpty(): boolean {
    return this.excludes.isEmpty && this.iexcludes.isEmpty && this.tagRules.length === 0 && this.maxSize === undefined && !this.sourceDevices;
  }

  get hasPatterns(): boolean {
    return !this.excludes.isEmpty || !this.iexcludes.isEmpty;
  }

  /** Whether a file's size is over --exclude-larger-than (restic compares lstat's size of anything but a directory). */
  tooLarge(st: BigIntStats): boolean {
    return this.maxSize !== undefined && st.size > this.maxSize && !isDirStat(st);
  }

  /**
   * Whether a source path (absolute, clean) is excluded itself: restic checks sources like any
   * entry — patterns on the whole path, tag files in its parent directory, its size — except
   * that a source is always on an allowed device.
   */
  async excludesSource(path: Buffer, st: BigIntStats): Promise<boolean> {
    if (this.hasPatterns) {
      const comps = componentsOf(path);
      if (this.excludes.matchesPath(comps)) return true;
      if (!this.iexcludes.isEmpty && this.iexcludes.matchesPath(comps.map(goToLower))) return true;
    }
    if (this.tagRules.length > 0 && excludedByTags(await tagsInDirectory(this.tagRules, dirName(path), this.warn), baseName(path))) return true;
    return this.tooLarge(st);
  }

  /** The rules for the entries of a source directory, given its lstat and its entry names. */
  async sourceDirectory(path: Buffer, st: BigIntStats, names: readonly Buffer[]): Promise<DirectoryRules> {
    let comps: string[] | null = null;
    let lowerComps: string[] | null = null;
    let matched: Uint8Array | null = null;
    let imatched: Uint8Array | null = null;
    if (this.hasPatterns) {
      comps = componentsOf(path);
      if (this.excludes.hasNegation) {
        matched = new Uint8Array(this.excludes.patterns.length);
        this.excludes.matchesPath(comps, matched);
      }
      if (!this.iexcludes.isEmpty) {
        lowerComps = comps.map(goToLower);
        if (this.iexcludes.hasNegation) {
          imatched = new Uint8Array(this.iexcludes.patterns.length);
          this.iexcludes.matchesPath(lowerComps, imatched);
        }
      }
    }
    const tags = this.tagRules.length > 0 ? await tagsInListing(this.tagRules, path, names, this.warn) : [];
    return new DirectoryRules(this, path, comps, lowerComps, matched, imatched, tags, st.dev, this.sourceDevices?.get(path.toString('latin1')) ?? st.dev);
  }
}

/** The rules for the entries of one directory being walked. */
export class DirectoryRules {
  constructor(
    private readonly rules: ExcludeRules,
    readonly path: Buffer,
    /** The directory's path components as text (null without patterns). */
    private readonly comps: string[] | null,
    private readonly lowerComps: string[] | null,
    /** Which patterns matched the directory itself: only kept for lists with negated patterns. */
    private readonly matched: Uint8Array | null,
    private readonly imatched: Uint8Array | null,
    /** The tag rules whose tag file this directory holds. */
    private readonly tags: readonly TagRule[],
    /** The directory's own device. */
    private readonly dev: bigint,
    /** The device of the source this directory belongs to (--one-file-system). */
    private readonly allowedDev: bigint,
  ) {}

  /** Whether the entry is excluded by name: patterns and tag files (no lstat needed). */
  excludesName(name: Buffer): boolean {
    if (this.tags.length > 0 && excludedByTags(this.tags, name)) return true;
    const comps = this.comps;
    if (comps === null) return false;
    const rules = this.rules;
    const text = nameText(name);
    const n = comps.length + 1;
    if (!rules.excludes.isEmpty && rules.excludes.matchesChild(this.matched, comps, n, text)) return true;
    return this.lowerComps !== null && rules.iexcludes.matchesChild(this.imatched, this.lowerComps, n, goToLower(text));
  }

  /**
   * Whether the entry is excluded by its lstat: larger than the limit, or on another device than
   * its source — except a directory in a directory on that device, which is a mount point and
   * is kept (empty, since everything in it is on the other device), as in restic.
   */
  excludesStat(st: BigIntStats): boolean {
    const rules = this.rules;
    if (rules.tooLarge(st)) return true;
    if (rules.sourceDevices === undefined || st.dev === this.allowedDev) return false;
    return !(isDirStat(st) && this.dev === this.allowedDev);
  }

  /** The rules for a subdirectory that was not excluded, given its lstat and its sorted entry names. */
  async subdirectory(name: Buffer, st: BigIntStats, names: readonly Buffer[]): Promise<DirectoryRules> {
    const rules = this.rules;
    const path = joinPath(this.path, name);
    let comps: string[] | null = null;
    let lowerComps: string[] | null = null;
    let matched: Uint8Array | null = null;
    let imatched: Uint8Array | null = null;
    if (this.comps !== null) {
      const text = nameText(name);
      const n = this.comps.length + 1;
      comps = [...this.comps, text];
      if (this.matched !== null) {
        matched = new Uint8Array(this.matched.length);
        rules.excludes.matchesChild(this.matched, this.comps, n, text, matched);
      }
      if (this.lowerComps !== null) {
        const lower = goToLower(text);
        lowerComps = [...this.lowerComps, lower];
        if (this.imatched !== null) {
          imatched = new Uint8Array(this.imatched.length);
          rules.iexcludes.matchesChild(this.imatched, this.lowerComps, n, lower, imatched);
        }
      }
    }
    const tags = rules.tagRules.length > 0 ? await tagsInListing(rules.tagRules, path, names, rules.warn) : [];
    // A nested source path has its own device, as in restic's device map.
    const allowedDev = rules.sourceDevices?.get(path.toString('latin1')) ?? this.allowedDev;
    return new DirectoryRules(rules, path, comps, lowerComps, matched, imatched, tags, st.dev, allowedDev);
  }
}
