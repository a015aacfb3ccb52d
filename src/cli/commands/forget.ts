// holdfast forget: remove snapshots, the ones named or those a retention policy (--keep-*) does
// not keep in their group, printing restic 0.14's tables or its JSON.

import type { Command } from 'commander';
import { type ForgetGroup, forgetSnapshots } from '../../maintenance/forget.js';
import { describePolicy, type ExpirePolicy, noDuration, parseRetentionDuration } from '../../maintenance/forget-policy.js';
import { invalidArgument } from '../../errors.js';
import { goJsonString } from '../../format/go-json.js';
import { shortId } from '../../format/id.js';
import { parseGroupBy } from '../../repository/snapshot-groups.js';
import { parseTagGroups } from '../../repository/snapshots.js';
import { bareSnapshotJson, groupHeading, renderSnapshotTable, snapshotJson } from '../../ui/snapshot-view.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';
import { addFilterOptions, collect, type FilterOptions, filterOf } from '../snapshot-filter-options.js';
import { addPruneOptions, type PruneCliOptions, pruneOptionsOf, runPrune } from './prune.js';

interface ForgetCliOptions extends FilterOptions, PruneCliOptions {
  keepLast: string;
  keepHourly: string;
  keepDaily: string;
  keepWeekly: string;
  keepMonthly: string;
  keepYearly: string;
  keepWithin?: string;
  keepWithinHourly?: string;
  keepWithinDaily?: string;
  keepWithinWeekly?: string;
  keepWithinMonthly?: string;
  keepWithinYearly?: string;
  keepTag: string[];
  compact?: boolean;
  groupBy: string;
  dryRun?: boolean;
  prune?: boolean;
}

function count(name: string, value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw invalidArgument(`--keep-${name}: "${value}" is not a number`);
  return n;
}

function duration(value: string | undefined) {
  return value === undefined ? noDuration : parseRetentionDuration(value);
}

function policyOf(o: ForgetCliOptions): ExpirePolicy {
  return {
    last: count('last', o.keepLast),
    hourly: count('hourly', o.keepHourly),
    daily: count('daily', o.keepDaily),
    weekly: count('weekly', o.keepWeekly),
    monthly: count('monthly', o.keepMonthly),
    yearly: count('yearly', o.keepYearly),
    within: duration(o.keepWithin),
    withinHourly: duration(o.keepWithinHourly),
    withinDaily: duration(o.keepWithinDaily),
    withinWeekly: duration(o.keepWithinWeekly),
    withinMonthly: duration(o.keepWithinMonthly),
    withinYearly: duration(o.keepWithinYearly),
    tags: parseTagGroups(o.keepTag) ?? [],
  };
}

function list(values: readonly string[] | null): string {
  return values === null ? 'null' : '[' + values.map(goJsonString).join(',') + ']';
}

/** restic's ForgetGroup JSON: keep/remove with ids, reasons with the bare snapshot and counters. */
function groupJson(g: ForgetGroup): string {
  const snapshots = (l: ForgetGroup['keep']) => (l.length === 0 ? 'null' : '[' + l.map((e) => snapshotJson(e)).join(',') + ']');
  const reasons = g.reasons.map((r) => {
    const counters = Object.entries(r.counters).map(([k, v]) => `"${k}":${v}`).join(',');
    return `{"snapshot":${bareSnapshotJson(r.entry)},"matches":${list(r.matches)},"counters":{${counters}}}`;
  });
  return `{"tags":${list(g.key.tags)},"host":${goJsonString(g.key.hostname)},"paths":${list(g.key.paths)},"keep":${snapshots(g.keep)},"remove":${snapshots(g.remove)},"reasons":${reasons.length === 0 ? 'null' : '[' + reasons.join(',') + ']'}}`;
}

export function registerForget(program: Command): void {
  const cmd = program
    .command('forget [ids...]')
    .description('remove snapshots: the ones given, or those the --keep-* policy does not keep in each group (the data stays until a prune)')
    .option('-l, --keep-last <n>', 'keep the last n snapshots (-1: all)', '0')
    .option('-H, --keep-hourly <n>', 'keep the last n hourly snapshots (-1: one per hour, all hours)', '0')
    .option('-d, --keep-daily <n>', 'keep the last n daily snapshots', '0')
    .option('-w, --keep-weekly <n>', 'keep the last n weekly snapshots', '0')
    .option('-m, --keep-monthly <n>', 'keep the last n monthly snapshots', '0')
    .option('-y, --keep-yearly <n>', 'keep the last n yearly snapshots', '0')
    .option('--keep-within <duration>', 'keep snapshots that are newer than duration (eg. 1y5m7d2h) relative to the latest snapshot')
    .option('--keep-within-hourly <duration>', 'keep hourly snapshots that are newer than duration relative to the latest snapshot')
    .option('--keep-within-daily <duration>', 'keep daily snapshots that are newer than duration relative to the latest snapshot')
    .option('--keep-within-weekly <duration>', 'keep weekly snapshots that are newer than duration relative to the latest snapshot')
    .option('--keep-within-monthly <duration>', 'keep monthly snapshots that are newer than duration relative to the latest snapshot')
    .option('--keep-within-yearly <duration>', 'keep yearly snapshots that are newer than duration relative to the latest snapshot')
    .option('--keep-tag <taglist>', 'keep snapshots with this taglist (can be given multiple times)', collect, []);
  addFilterOptions(cmd, '', false)
    .option('-c, --compact', 'use compact output format')
    .option('-g, --group-by <group>', "group snapshots by host, paths and/or tags, separated by comma (disable grouping with '')", 'host,paths')
    .option('-n, --dry-run', 'do not delete anything, just print what would be done')
    .option('--prune', 'automatically run the prune command if snapshots have been removed');
  addPruneOptions(cmd).action(
    action(async (ids: string[], opts: ForgetCliOptions, command: Command) => {
      const g = globalsOf(command);
      const out = outputOf(g);
      // Checked before anything is removed, as restic does.
      const pruneOptions = opts.prune ? pruneOptionsOf(opts, g, opts.dryRun === true) : undefined;
      if (g.lock === false && !opts.dryRun) throw invalidArgument('--no-lock is only applicable in combination with --dry-run for forget command');
      const policy = policyOf(opts);
      const by = parseGroupBy(opts.groupBy);
      await withRepository(g, { lock: opts.dryRun ? 'shared' : 'exclusive' }, async (repo) => {
        const result = await forgetSnapshots(repo, {
          policy,
          groupBy: by,
          filter: filterOf(opts),
          snapshotIds: ids,
          dryRun: opts.dryRun === true,
          warn: (m) => out.warn(m),
        });
        if (ids.length === 0) out.info(result.policyEmpty ? 'no policy was specified, no snapshots will be removed' : `Applying Policy: ${describePolicy(policy)}`);
        if (out.json) {
          if (result.groups.length > 0) out.raw('[' + result.groups.map(groupJson).join(',') + ']\n');
        } else {
          for (const group of result.groups) {
            const heading = groupHeading(group.key);
            if (g.verbose >= 1 && heading !== '') out.info(heading);
            if (group.keep.length > 0 && !g.quiet) {
              const reasons = new Map(group.reasons.map((r) => [r.entry.id, r.matches]));
              out.raw(`keep ${group.keep.length} snapshots:\n` + renderSnapshotTable(group.keep, { compact: opts.compact === true, reasons }) + '\n');
            }
            if (group.remove.length > 0 && !g.quiet) {
              out.raw(`remove ${group.remove.length} snapshots:\n` + renderSnapshotTable(group.remove, { compact: opts.compact === true }) + '\n');
            }
          }
          if (opts.dryRun && result.removed.length > 0) out.raw(`Would have removed the following snapshots:\n{${result.removed.map(shortId).join(' ')}}\n\n`);
        }
        if (pruneOptions && result.removed.length > 0) {
          out.info(`${result.removed.length} snapshots have been removed, running prune`);
          // In a dry run the snapshots are still there: prune plans as if they were gone.
          await runPrune(repo, { ...pruneOptions, ignoreSnapshots: new Set(result.removed) }, out);
        }
      });
    }),
  );
}
