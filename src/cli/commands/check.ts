// holdfast check: verify the repository's structure and, with --read-data, all stored data.

import { Command } from 'commander';
import { checkFailed, type CheckEvent, checkRepository } from '../../maintenance/check.js';
import { parseReadDataSubset } from '../../maintenance/read-data-subset.js';
import { formatBytes } from '../../ui/format.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';

const phaseTitles: Record<string, string> = {
  index: 'load indexes',
  packs: 'check all packs',
  headers: 'check pack headers',
  snapshots: 'check snapshots, trees and blobs',
  'read-data': 'read all data',
};

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('check the repository for errors')
    .option('--read-data', 'read all data packs and verify every blob')
    .option('--read-data-subset <subset>', 'read a subset of the packs: n/t, a percentage (10%) or a size (500M)')
    .action(
      action(async (opts: { readData?: boolean; readDataSubset?: string }, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        const readData = opts.readDataSubset ? parseReadDataSubset(opts.readDataSubset) : opts.readData === true;
        await withRepository(g, { lock: 'exclusive' }, async (repo) => {
          const onEvent = (e: CheckEvent) => {
            if (e.type === 'phase') {
              const title = e.phase === 'read-data' && readData !== true ? `read ${e.total} packs` : phaseTitles[e.phase];
              out.info(title!);
            } else if (e.type === 'error') out.error(e.message);
            else if (e.type === 'hint') out.info(e.message);
            if (e.type === 'progress') out.emit({ message_type: 'status', ...e });
          };
          const result = await checkRepository(repo, { readData }, onEvent);
          if (result.packsRead > 0) out.info(`read ${result.packsRead} packs, ${formatBytes(result.bytesRead)}`);
          out.emit({ message_type: 'summary', errors: result.errors.length, hints: result.hints.length, snapshots: result.snapshots, packs: result.packs, packs_read: result.packsRead, bytes_read: result.bytesRead });
          const failure = checkFailed(result);
          if (failure) throw failure;
          out.info('no errors were found');
        });
      }),
    );
}
