// holdfast stats: sizes and counts of snapshots in restic 0.14's counting modes, followed by how
// well the repository deduplicates and compresses what those snapshots hold.

import type { Command } from 'commander';
import { checkStatsMode, snapshotStats } from '../../browse/stats.js';
import { selectSnapshots } from '../../repository/snapshot-selection.js';
import { resticBytes } from '../../ui/restic-text.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';
import { addFilterOptions, type FilterOptions, filterOf } from '../snapshot-filter-options.js';

/** A ratio as JSON: Go-like shortest form, 0 when there is nothing to compare. */
function ratio(r: number): number {
  return Math.round(r * 10_000) / 10_000;
}

export function registerStats(program: Command): void {
  addFilterOptions(program.command('stats [ids...]').description('walk snapshots and show sizes and counts'))
    .option('--mode <mode>', 'counting mode: restore-size (default), files-by-contents, blobs-per-file or raw-data', 'restore-size')
    .action(
      action(async (ids: string[], opts: FilterOptions & { mode: string }, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        const mode = checkStatsMode(opts.mode);
        await withRepository(g, { lock: 'shared' }, async (repo) => {
          await repo.loadIndex();
          out.info('scanning...');
          const snapshots = await selectSnapshots(repo, ids, filterOf(opts), (m) => out.warn(m));
          const s = await snapshotStats(repo, snapshots, mode);
          if (out.json) {
            const blobs = s.totalBlobCount > 0 ? `,"total_blob_count":${s.totalBlobCount}` : '';
            const extra = `,"deduplication_ratio":${ratio(s.deduplicationRatio)},"compression_ratio":${ratio(s.compressionRatio)}`;
            out.raw(`{"total_size":${s.totalSize},"total_file_count":${s.totalFileCount}${blobs},"snapshots_count":${s.snapshotsCount}${extra}}\n`);
            return;
          }
          const lines = [`Stats in ${mode} mode:`, `Snapshots processed:   ${s.snapshotsCount}`];
          if (s.totalBlobCount > 0) lines.push(`   Total Blob Count:   ${s.totalBlobCount}`);
          if (s.totalFileCount > 0) lines.push(`   Total File Count:   ${s.totalFileCount}`);
          lines.push(`         Total Size:   ${resticBytes(s.totalSize).padEnd(5)}`);
          if (s.deduplicationRatio > 0) lines.push(`Deduplication Ratio:   ${s.deduplicationRatio.toFixed(2)}x`);
          if (s.compressionRatio > 0) lines.push(`  Compression Ratio:   ${s.compressionRatio.toFixed(2)}x`);
          out.raw(lines.join('\n') + '\n');
        });
      }),
    );
}
