// holdfast dump: print a file of a snapshot to stdout, or a directory (`/` for everything) as a
// tar or zip archive, as restic 0.14's dump does; every blob is verified before it is written.

import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { HoldfastError } from '../../errors.js';
import { type ArchiveFormat, dumpSnapshot } from '../../restore/dump.js';
import { findSnapshot } from '../../repository/snapshots.js';
import { findNode } from '../../restore/snapshot-path.js';
import { globalsOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';
import { addFilterOptions, type FilterOptions, filterOf } from '../snapshot-filter-options.js';

interface DumpCliOptions extends FilterOptions {
  archive: ArchiveFormat;
}

export function registerDump(program: Command): void {
  addFilterOptions(
    program
      .command('dump <snapshot> <file>')
      .description('print a file of a snapshot to stdout; a directory ("/" for all) as a tar or zip archive'),
    ' when the snapshot ID is "latest"',
  )
    .addOption(new Option('-a, --archive <format>', 'archive format for directories').choices(['tar', 'zip']).default('tar'))
    .action(
      action(async (snapshot: string, path: string, opts: DumpCliOptions, cmd: Command) => {
        const g = globalsOf(cmd);
        const filter = filterOf(opts);
        await withRepository(g, { lock: 'shared' }, async (repo) => {
          const entry = await findSnapshot(repo, snapshot, { ...filter, paths: filter.paths?.map((p) => resolve(p)) });
          await repo.loadIndex();
          const found = await findNode(repo, entry.snapshot.tree, path);
          // An archive on a terminal is only noise, as restic says.
          if (found.tree !== undefined && process.stdout.isTTY) {
            throw new HoldfastError('ERR_INVALID_ARGUMENT', 'stdout is the terminal, please redirect output');
          }
          await dumpSnapshot(repo, entry, path, process.stdout, { archive: opts.archive });
        });
      }),
    );
}
