// holdfast diff: what changed from one snapshot to another, line by line and in totals, as restic
// 0.14 prints it (or as JSON lines with --json).

import type { Command } from 'commander';
import { type DiffStat, diffSnapshots } from '../../browse/diff.js';
import { goJsonString } from '../../format/go-json.js';
import { shortId } from '../../format/id.js';
import { findSnapshot } from '../../repository/snapshots.js';
import { resticBytes } from '../../ui/restic-text.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';

function statJson(s: DiffStat): string {
  return `{"files":${s.files},"dirs":${s.dirs},"others":${s.others},"data_blobs":${s.dataBlobs},"tree_blobs":${s.treeBlobs},"bytes":${s.bytes}}`;
}

export function registerDiff(program: Command): void {
  program
    .command('diff <snapshot-a> <snapshot-b>')
    .description('show differences between two snapshots: + added, - removed, M content modified, T type changed, U metadata updated')
    .option('--metadata', 'print changes in metadata')
    .action(
      action(async (a: string, b: string, opts: { metadata?: boolean }, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        await withRepository(g, { lock: 'shared' }, async (repo) => {
          const before = await findSnapshot(repo, a);
          const after = await findSnapshot(repo, b);
          out.info(`comparing snapshot ${shortId(before.id)} to ${shortId(after.id)}:\n`);
          await repo.loadIndex();
          const quiet = g.quiet;
          const stats = await diffSnapshots(repo, before.snapshot.tree, after.snapshot.tree, {
            metadata: opts.metadata === true,
            onChange: (c) => {
              if (quiet) return;
              if (out.json) out.raw(`{"message_type":"change","path":${goJsonString(c.path)},"modifier":"${c.modifier}"}\n`);
              else out.raw(c.modifier.padEnd(5) + c.path + '\n');
            },
            warn: (m) => out.warn(m),
          });
          if (out.json) {
            const s = `{"message_type":"statistics","source_snapshot":${goJsonString(a)},"target_snapshot":${goJsonString(b)},"changed_files":${stats.changedFiles},"added":${statJson(stats.added)},"removed":${statJson(stats.removed)}}`;
            out.raw(s + '\n');
            return;
          }
          const n = (v: number) => String(v).padStart(5);
          out.raw(
            '\n' +
              `Files:       ${n(stats.added.files)} new, ${n(stats.removed.files)} removed, ${n(stats.changedFiles)} changed\n` +
              `Dirs:        ${n(stats.added.dirs)} new, ${n(stats.removed.dirs)} removed\n` +
              `Others:      ${n(stats.added.others)} new, ${n(stats.removed.others)} removed\n` +
              `Data Blobs:  ${n(stats.added.dataBlobs)} new, ${n(stats.removed.dataBlobs)} removed\n` +
              `Tree Blobs:  ${n(stats.added.treeBlobs)} new, ${n(stats.removed.treeBlobs)} removed\n` +
              `  Added:   ${resticBytes(stats.added.bytes).padEnd(5)}\n` +
              `  Removed: ${resticBytes(stats.removed.bytes).padEnd(5)}\n`,
          );
        });
      }),
    );
}
