// holdfast ls: the files and directories of a snapshot, all or those inside given directories,
// as names, restic's long format (-l) or its JSON lines (the snapshot, then one line per node).

import type { Command } from 'commander';
import { checkListDirs, listNodes } from '../../browse/list-nodes.js';
import { shortId } from '../../format/id.js';
import { selectSnapshots } from '../../repository/snapshot-selection.js';
import { lsNodeJson } from '../../ui/node-json.js';
import { goTimeString, longListing } from '../../ui/restic-text.js';
import { snapshotJson } from '../../ui/snapshot-view.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';
import { addFilterOptions, type FilterOptions, filterOf } from '../snapshot-filter-options.js';

interface LsOptions extends FilterOptions {
  long?: boolean;
  recursive?: boolean;
}

export function registerLs(program: Command): void {
  addFilterOptions(
    program
      .command('ls <snapshot> [dirs...]')
      .description('list files in a snapshot ("latest" for the newest); absolute dirs limit the listing to what is inside them'),
    ', when snapshot ID "latest" is given',
  )
    .option('-l, --long', 'use a long listing format showing size and mode')
    .option('--recursive', 'include files in subfolders of the listed directories')
    .action(
      action(async (snapshot: string, dirs: string[], opts: LsOptions, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        checkListDirs(dirs);
        await withRepository(g, { lock: 'none' }, async (repo) => {
          const [entry] = await selectSnapshots(repo, [snapshot], filterOf(opts), (m) => out.warn(m));
          if (!entry) return;
          await repo.loadIndex();
          if (out.json) out.raw(snapshotJson(entry, ',"struct_type":"snapshot"') + '\n');
          else out.info(`snapshot ${shortId(entry.id)} of [${entry.snapshot.paths.join(' ')}] filtered by [${dirs.join(' ')}] at ${goTimeString(entry.snapshot.time)}):`);
          await listNodes(repo, entry.snapshot.tree, { dirs, recursive: opts.recursive === true }, (path, node) => {
            out.raw((out.json ? lsNodeJson(path, node) : opts.long ? longListing(path, node) : path) + '\n');
          });
        });
      }),
    );
}
