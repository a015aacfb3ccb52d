// holdfast rewrite: new snapshots without the files matching --exclude/--iexclude (and pattern
// files), as restic's rewrite makes them; --forget removes the old snapshots.

import type { Command } from 'commander';
import { invalidArgument } from '../../errors.js';
import { goToLower } from '../../fs/go-lower.js';
import { parsePattern, PatternList, readPatternFile } from '../../fs/index.js';
import { rewriteSnapshots, type RewriteEvent } from '../../maintenance/rewrite.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';
import { addFilterOptions, collect, type FilterOptions, filterOf } from '../snapshot-filter-options.js';
import { describeOutcome, snapshotLine } from './repair.js';

interface RewriteCliOptions extends FilterOptions {
  exclude: string[];
  iexclude: string[];
  excludeFile: string[];
  iexcludeFile: string[];
  forget?: boolean;
  dryRun?: boolean;
}

function patternList(flag: string, texts: readonly string[], caseInsensitive: boolean): PatternList {
  const invalid = texts.filter((t) => {
    try {
      if (t !== '') parsePattern(t, caseInsensitive);
      return false;
    } catch {
      return true;
    }
  });
  if (invalid.length > 0) throw invalidArgument(`${flag}: invalid pattern(s) provided:\n${invalid.join('\n')}`);
  return new PatternList(texts, caseInsensitive);
}

/** restic's reject-by-name functions: a path is left out when either list matches it. */
async function excluder(o: RewriteCliOptions): Promise<((path: string) => boolean) | undefined> {
  const excludes = [...o.exclude];
  for (const f of o.excludeFile) excludes.push(...(await readPatternFile(f)));
  const iexcludes = [...o.iexclude];
  for (const f of o.iexcludeFile) iexcludes.push(...(await readPatternFile(f)));
  const list = patternList('--exclude', excludes, false);
  const ilist = patternList('--iexclude', iexcludes, true);
  if (list.isEmpty && ilist.isEmpty) return undefined;
  return (path) => {
    const comps = path.slice(1).split('/');
    return list.matchesPath(comps) || (!ilist.isEmpty && ilist.matchesPath(comps.map(goToLower)));
  };
}

export function registerRewrite(program: Command): void {
  const cmd = program
    .command('rewrite [ids...]')
    .description('create new snapshots without the excluded files; the new ones record the old in "original" and are tagged "rewrite" unless --forget removes the old ones')
    .option('-e, --exclude <pattern>', 'exclude a pattern (can be specified multiple times)', collect, [])
    .option('--iexclude <pattern>', 'same as --exclude pattern but ignores the casing of filenames', collect, [])
    .option('--exclude-file <file>', 'read exclude patterns from a file (can be specified multiple times)', collect, [])
    .option('--iexclude-file <file>', 'same as --exclude-file but ignores casing of filenames in patterns', collect, [])
    .option('--forget', 'remove original snapshots after creating new ones')
    .option('-n, --dry-run', 'do not do anything, just print what would be done');
  addFilterOptions(cmd, ', when no snapshot ID is given').action(
    action(async (ids: string[], opts: RewriteCliOptions, command: Command) => {
      const g = globalsOf(command);
      const out = outputOf(g);
      const exclude = await excluder(opts);
      if (!exclude) throw invalidArgument('Nothing to do: no excludes provided');
      const lock = opts.forget && !opts.dryRun ? 'exclusive' : 'shared';
      await withRepository(g, { lock }, async (repo) => {
        const onEvent = (e: RewriteEvent) => {
          if (e.type === 'snapshot') out.info('\n' + snapshotLine(e.entry));
          else if (e.type === 'excluded') out.verbose(`excluding ${JSON.stringify(e.path)}`, 2);
          else for (const line of describeOutcome(e.entry, e.outcome, opts.dryRun === true)) out.info(line);
        };
        const result = await rewriteSnapshots(
          repo,
          { exclude: (path) => exclude(path), snapshotIds: ids, filter: filterOf(opts), forget: opts.forget === true, dryRun: opts.dryRun === true, warn: (m) => out.warn(m) },
          onEvent,
        );
        out.info('');
        if (result.changed === 0) out.info(opts.dryRun ? 'no snapshots would be modified' : 'no snapshots were modified');
        else out.info(opts.dryRun ? `would modify ${result.changed} snapshots` : `modified ${result.changed} snapshots`);
        out.emit({ message_type: 'summary', snapshots: result.snapshots, changed: result.changed, dry_run: opts.dryRun === true });
      });
    }),
  );
}
