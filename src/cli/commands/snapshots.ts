// holdfast snapshots: the snapshot list as restic 0.14 prints it: a table (--compact for a narrow
// one), tables per group with --group-by, or restic's JSON array (groups with --group-by).

import type { Command } from 'commander';
import { listSnapshotGroups } from '../../browse/snapshot-list.js';
import { invalidArgument } from '../../errors.js';
import { groupKeyJson, isGrouped, parseGroupBy } from '../../repository/snapshot-groups.js';
import { selectSnapshots } from '../../repository/snapshot-selection.js';
import { groupHeading, renderSnapshotTable, snapshotJson } from '../../ui/snapshot-view.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';
import { addFilterOptions, type FilterOptions, filterOf } from '../snapshot-filter-options.js';

interface SnapshotsOptions extends FilterOptions {
  compact?: boolean;
  latest: string;
  groupBy: string;
}

export function registerSnapshots(program: Command): void {
  addFilterOptions(program.command('snapshots [ids...]').description('list snapshots'))
    .option('-c, --compact', 'use compact output format')
    .option('--latest <n>', 'only show the last n snapshots for each host and path', '0')
    .option('-g, --group-by <group>', 'group snapshots by host, paths and/or tags, separated by comma', '')
    .action(
      action(async (ids: string[], opts: SnapshotsOptions, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        const latest = Number(opts.latest);
        if (!Number.isInteger(latest)) throw invalidArgument(`--latest: "${opts.latest}" is not a number`);
        const by = parseGroupBy(opts.groupBy);
        await withRepository(g, { lock: 'shared' }, async (repo) => {
          const entries = await selectSnapshots(repo, ids, filterOf(opts), (m) => out.warn(m));
          const groups = listSnapshotGroups(entries, by, latest);
          if (out.json) {
            const docs = groups.map((grp) => grp.snapshots.map((e) => snapshotJson(e)).join(','));
            const json = isGrouped(by)
              ? '[' + groups.map((grp, i) => `{"group_key":${groupKeyJson(grp.key)},"snapshots":[${docs[i]}]}`).join(',') + ']'
              : '[' + docs.filter((d) => d !== '').join(',') + ']';
            out.raw(json + '\n');
            return;
          }
          for (const grp of groups) {
            const heading = isGrouped(by) ? groupHeading(grp.key) : '';
            if (heading !== '') out.raw(heading + '\n');
            out.raw(renderSnapshotTable(grp.snapshots, { compact: opts.compact === true }));
          }
        });
      }),
    );
}
