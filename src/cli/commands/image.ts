// holdfast image: the generations of an image backup, deltas between generations, and applying a
// delta to a copy of an older generation (no repository needed for that).

import type { Command } from 'commander';
import { invalidArgument } from '../../errors.js';
import { applyDelta, exportDelta, listGenerations } from '../../image/index.js';
import { formatBytes, formatLocalTime } from '../../ui/format.js';
import { renderTable } from '../../ui/table.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';

function registerGenerations(image: Command): void {
  image
    .command('generations <snapshot>')
    .description('list the generations of an image (SNAPSHOT[:NAME]): date, mode and changed blocks')
    .option('-H, --host <name>', 'with latest: the newest snapshot from this host')
    .action(
      action(async (snapshot: string, opts: { host?: string }, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        const r = await withRepository(g, { lock: 'shared' }, (repo) => listGenerations(repo, snapshot, opts.host));
        if (out.json) {
          out.emit({
            snapshot_id: r.snapshotId,
            image: r.name,
            volume_size: r.volumeSize,
            block_size: r.blockSize,
            blocks: r.blockCount,
            generations: r.generations.map((row) => ({
              generation: row.generation,
              time: row.time.toISOString(),
              mode: row.mode,
              changed_blocks: row.changedBlocks,
              current_blocks: row.currentBlocks,
              snapshot_id: row.snapshotId,
            })),
          });
          return;
        }
        out.info(`image ${r.name}: ${formatBytes(r.volumeSize)}, ${r.blockCount} blocks of ${formatBytes(r.blockSize)}`);
        const rows = r.generations.map((row) => [
          String(row.generation),
          formatLocalTime(row.time),
          row.mode,
          String(row.changedBlocks),
          String(row.currentBlocks),
          row.snapshotId?.slice(0, 8) ?? '',
        ]);
        out.info(
          renderTable(
            [
              { title: 'Generation', align: 'right' },
              { title: 'Date' },
              { title: 'Mode' },
              { title: 'Changed blocks', align: 'right' },
              { title: 'Still current', align: 'right' },
              { title: 'Snapshot' },
            ],
            rows,
            `${r.generations.length} generations`,
          ),
        );
      }),
    );
}

function registerDelta(image: Command): void {
  image
    .command('delta <snapshot>')
    .description('write the blocks an image (SNAPSHOT[:NAME]) changed after generation N to a delta file')
    .requiredOption('--since-generation <n>', 'the generation the delta starts from', (v) => Number(v))
    .requiredOption('-o, --output <file>', 'the delta file to write')
    .option('-H, --host <name>', 'with latest: the newest snapshot from this host')
    .action(
      action(async (snapshot: string, opts: { sinceGeneration: number; output: string; host?: string }, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        const r = await withRepository(g, { lock: 'shared' }, (repo) =>
          exportDelta(repo, { snapshot, sinceGeneration: opts.sinceGeneration, output: opts.output, ...(opts.host === undefined ? {} : { host: opts.host }) }),
        );
        if (out.json) {
          out.emit({
            message_type: 'summary',
            image: r.name,
            base_generation: r.baseGeneration,
            generation: r.generation,
            base_snapshot: r.baseSnapshot,
            snapshot_id: r.snapshot,
            blocks: r.entries,
            data_blocks: r.dataEntries,
            file_size: r.fileSize,
            output: opts.output,
          });
        } else {
          out.info(`delta of image ${r.name} from generation ${r.baseGeneration} to ${r.generation}: ${r.entries} changed block(s), ${r.dataEntries} with data`);
          out.info(`wrote ${opts.output} (${formatBytes(r.fileSize)})`);
        }
      }),
    );
}

function registerApplyDelta(image: Command): void {
  image
    .command('apply-delta <file>')
    .description('apply a delta file to a copy of its base generation (a file or device), checking every block')
    .requiredOption('-t, --target <file|device>', 'the image restored from the delta\'s base generation')
    .action(
      action(async (file: string, opts: { target: string }, cmd: Command) => {
        const out = outputOf(globalsOf(cmd));
        if (opts.target === file) throw invalidArgument('the target cannot be the delta file itself');
        const r = await applyDelta(file, opts.target);
        if (out.json) {
          out.emit({
            message_type: 'summary',
            image: r.name,
            base_generation: r.baseGeneration,
            generation: r.generation,
            blocks_written: r.written,
            blocks_already_new: r.alreadyNew,
            bytes_written: r.bytesWritten,
          });
        } else {
          const already = r.alreadyNew > 0 ? ` (${r.alreadyNew} already had their new content)` : '';
          out.info(`${opts.target}: image ${r.name} updated from generation ${r.baseGeneration} to ${r.generation}, ${r.written} block(s) written${already}`);
        }
      }),
    );
}

export function registerImage(program: Command): void {
  const image = program.command('image').description('generations and deltas of image backups');
  registerGenerations(image);
  registerDelta(image);
  registerApplyDelta(image);
}
