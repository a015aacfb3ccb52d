// The survey: a first walk of the sources that only lists directories and lstats their entries,
// with the backup's exclude rules, and computes every directory's fingerprint bottom-up. It needs
// no repository, so it runs while the repository is being opened (key derivation leaves the main
// thread idle for a third of a second); the backup then reuses the tree of every directory whose
// fingerprint is the one recorded for the parent snapshot, without opening it.

import { existsSync, type BigIntStats } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { accountNames } from '../fs/account-names.js';
import type { DirectoryRules, ExcludeRules } from '../fs/exclude-rules.js';
import { listDirectorySync } from '../fs/list-directory.js';
import { joinPath } from '../fs/paths.js';
import { Fingerprints } from './dir-fingerprint.js';
import { dirCacheFile, pathKey } from './dir-cache.js';
import { lstatBig } from './file-io.js';
import type { ScanTotals } from './scanner.js';
import { buildTargetTree, snapshotPaths, type TargetNode } from './targets.js';

/** Directories listed between two turns of the event loop, so the repository opens meanwhile. */
const DIRS_PER_TURN = 32;

export interface Survey {
  /** Fingerprint of each directory the backup would enter, by path; absent when something in it could not be read. */
  readonly fingerprints: Map<string, Buffer>;
}

class Surveyor {
  readonly survey: Survey = { fingerprints: new Map() };
  private listed = 0;

  constructor(
    private readonly rules: ExcludeRules,
    private readonly fingerprints: Fingerprints,
    private readonly signal: AbortSignal | undefined,
    private readonly totals: ScanTotals | undefined,
  ) {}

  async target(node: TargetNode): Promise<void> {
    if (this.signal?.aborted) return;
    if (!node.target) {
      for (const child of node.children.values()) await this.target(child);
      return;
    }
    const st = statOrUndefined(node.path);
    if (!st?.isDirectory() || (!this.rules.isEmpty && (await this.rules.excludesSource(node.path, st)))) return;
    await this.directory(node.path, st, undefined);
  }

  /** The directory's fingerprint, or undefined when something in it could not be read. */
  private async directory(path: Buffer, st: BigIntStats, within: { rules: DirectoryRules; name: Buffer } | undefined): Promise<Buffer | undefined> {
    if (++this.listed % DIRS_PER_TURN === 0) await nextTurn();
    if (this.signal?.aborted) return undefined;
    let names: Buffer[];
    try {
      names = listDirectorySync(path);
    } catch {
      return undefined;
    }
    const dirRules = within ? await within.rules.subdirectory(within.name, st, names) : await this.rules.sourceDirectory(path, st, names);
    const builder = this.fingerprints.builder();
    let complete = true;
    for (const name of names) {
      if (!this.rules.isEmpty && dirRules.excludesName(name)) continue;
      const entryPath = joinPath(path, name);
      const entry = statOrUndefined(entryPath);
      if (!entry) {
        complete = false;
        continue;
      }
      if ((!this.rules.isEmpty && dirRules.excludesStat(entry)) || entry.isSocket()) continue;
      let child: Buffer | undefined;
      if (entry.isDirectory()) {
        child = await this.directory(entryPath, entry, { rules: dirRules, name });
        if (!child) complete = false;
      } else if (entry.isFile()) {
        if (this.totals) {
          this.totals.files++;
          this.totals.bytes += Number(entry.size);
        }
      }
      builder.add(name, entry, child);
    }
    if (!complete) return undefined;
    const fingerprint = builder.finish();
    this.survey.fingerprints.set(pathKey(path), fingerprint);
    return fingerprint;
  }
}

function statOrUndefined(path: Buffer): BigIntStats | undefined {
  try {
    return lstatBig(path);
  } catch {
    // The backup itself reports what cannot be read.
    return undefined;
  }
}

async function surveySources(root: TargetNode, rules: ExcludeRules, signal: AbortSignal, totals: ScanTotals | undefined): Promise<Survey> {
  const surveyor = new Surveyor(rules, new Fingerprints(await accountNames()), signal, totals);
  await surveyor.target(root);
  if (totals && !signal.aborted) totals.finished = true;
  return surveyor.survey;
}

/** A survey of the sources of a backup (the tree buildTargetTree makes), started at once. */
export class SurveyRun {
  private readonly controller = new AbortController();
  readonly result: Promise<Survey>;

  /** `totals`: counted for progress as the survey goes, which then replaces the scan for totals and is never cancelled. */
  constructor(
    root: TargetNode,
    rules: ExcludeRules,
    private readonly totals: ScanTotals | undefined,
  ) {
    this.result = surveySources(root, rules, this.controller.signal, totals);
    // Awaited only when used; a backup that ends before then must not see it as unhandled.
    this.result.catch(() => undefined);
  }

  /** Stops it when its result will not be used: it would only take the walk's time. */
  cancel(): void {
    if (!this.totals) this.controller.abort();
  }

  /** Stops it whatever it is for: the backup is over. */
  stop(): void {
    this.controller.abort();
  }
}

/** A backup set's directory cache file, and the survey of its sources when there is a cache to compare with. */
export interface DirCacheUse {
  readonly file: string;
  readonly survey: SurveyRun | undefined;
}

/**
 * Finds the directory cache of a backup set (repository location, host, paths) and, when there
 * is one, starts the survey: called before the repository is opened, it runs meanwhile.
 * `--force` still writes a cache but compares with none.
 */
export function prepareDirCache(
  cacheDir: string,
  location: string,
  host: string,
  paths: readonly string[],
  rules: ExcludeRules,
  options: { readonly force: boolean; readonly totals?: ScanTotals | undefined },
): DirCacheUse {
  const file = dirCacheFile(cacheDir, location, host, snapshotPaths(paths));
  return { file, survey: !options.force && existsSync(file) ? new SurveyRun(buildTargetTree(paths), rules, options.totals) : undefined };
}
