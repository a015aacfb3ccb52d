// holdfast repair index | repair snapshots, and rebuild-index (restic 0.14's name for repair
// index). Both take an exclusive lock; the lines they print are restic's.

import type { Command } from 'commander';
import { shortId } from '../../format/id.js';
import { repairIndex, type RepairIndexEvent } from '../../maintenance/repair-index.js';
import { repairSnapshots, type RepairSnapshotsEvent } from '../../maintenance/repair-snapshots.js';
import type { ReplaceOutcome } from '../../maintenance/snapshot-replace.js';
import type { SnapshotEntry } from '../../repository/snapshots.js';
import type { Output } from '../../ui/output.js';
import { PhaseProgress } from '../../ui/phase-progress.js';
import { goTimeString } from '../../ui/restic-text.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';
import { addFilterOptions, type FilterOptions, filterOf } from '../snapshot-filter-options.js';

/** restic's Snapshot.String(). */
export function snapshotLine(e: SnapshotEntry): string {
  const sn = e.snapshot;
  return `snapshot ${shortId(e.id)} of [${sn.paths.join(' ')}] at ${goTimeString(sn.time)} by ${sn.username ?? ''}@${sn.hostname ?? ''}`;
}

/** What restic prints once a snapshot has been rewritten or repaired. */
export function describeOutcome(e: SnapshotEntry, outcome: ReplaceOutcome, dryRun: boolean): string[] {
  switch (outcome.kind) {
    case 'unchanged':
      return [];
    case 'removed':
      return [dryRun ? 'would delete empty snapshot' : `removed empty snapshot ${shortId(e.id)}`];
    case 'replaced':
      if (dryRun) return outcome.forgotten ? ['would save new snapshot', 'would remove old snapshot'] : ['would save new snapshot'];
      return [`saved new snapshot ${shortId(outcome.id!)}`, ...(outcome.forgotten ? [`removed old snapshot ${shortId(e.id)}`] : [])];
  }
}

async function runRepairIndex(out: Output, readAllPacks: boolean, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  await withRepository(g, { lock: 'exclusive' }, async (repo) => {
    const progress = new PhaseProgress(out);
    const onEvent = (e: RepairIndexEvent) => {
      if (e.type === 'warning') out.warn(e.message);
      else if (e.type === 'progress') progress.update(e.done, e.total);
      else {
        progress.end();
        if (e.phase === 'load-index') out.info('loading indexes...');
        else if (e.phase === 'list-packs') out.info('getting pack files to read...');
        else if (e.phase === 'read-packs' && e.total > 0) {
          out.info('reading pack files');
          progress.start('packs', e.total);
        } else if (e.phase === 'write-index') out.info('rebuilding index');
        else if (e.phase === 'delete-index') out.info('deleting obsolete index files');
      }
    };
    const result = await repairIndex(repo, { readAllPacks }, onEvent);
    progress.end();
    out.emit({
      message_type: 'summary',
      packs_read: result.packsRead,
      packs_indexed: result.packsIndexed,
      packs_forgotten: result.packsForgotten,
      packs_skipped: result.packsSkipped,
      index_files_written: result.indexFilesWritten,
      index_files_removed: result.indexFilesRemoved,
    });
    out.info('done');
  });
}

function indexCommand(cmd: Command): Command {
  return cmd
    .description('build a new index from the pack files, replacing all index files')
    .option('--read-all-packs', 'read all pack files to generate new index from scratch')
    .action(action(async (opts: { readAllPacks?: boolean }, c: Command) => runRepairIndex(outputOf(globalsOf(c)), opts.readAllPacks === true, c)));
}

export function registerRepair(program: Command): void {
  const repair = program.command('repair').description('repair the index or damaged snapshots');
  indexCommand(repair.command('index'));
  const snapshots = repair
    .command('snapshots [ids...]')
    .description('replace snapshots that refer to missing or damaged data by repaired ones (missing file contents removed, unreadable directories emptied); run "repair index" first')
    .option('-n, --dry-run', 'do not do anything, just print what would be done')
    .option('--forget', 'remove original snapshots after creating new ones');
  addFilterOptions(snapshots, ', when no snapshot ID is given').action(
    action(async (ids: string[], opts: FilterOptions & { dryRun?: boolean; forget?: boolean }, c: Command) => {
      const g = globalsOf(c);
      const out = outputOf(g);
      const dryRun = opts.dryRun === true;
      await withRepository(g, { lock: dryRun ? 'shared' : 'exclusive' }, async (repo) => {
        const onEvent = (e: RepairSnapshotsEvent) => {
          if (e.type === 'snapshot') out.info('\n' + snapshotLine(e.entry));
          else if (e.type === 'repair') out.info(e.message);
          else for (const line of describeOutcome(e.entry, e.outcome, dryRun)) out.info(line);
        };
        const result = await repairSnapshots(repo, { snapshotIds: ids, filter: filterOf(opts), forget: opts.forget === true, dryRun, warn: (m) => out.warn(m) }, onEvent);
        out.info('');
        if (result.changed === 0) out.info(dryRun ? 'no snapshots would be modified' : 'no snapshots were modified');
        else out.info(dryRun ? `would modify ${result.changed} snapshots` : `modified ${result.changed} snapshots`);
        out.emit({ message_type: 'summary', snapshots: result.snapshots, changed: result.changed, dry_run: dryRun });
      });
    }),
  );
}

/** restic 0.14's name for `repair index`. */
export function registerRebuildIndex(program: Command): void {
  indexCommand(program.command('rebuild-index'));
}
