// holdfast tag: set, add or remove tags of snapshots; each changed snapshot is rewritten under a
// new id that records the first id in `original`, as restic does.

import type { Command } from 'commander';
import { checkTagChange, retagSnapshots, type TagChange } from '../../maintenance/snapshot-tags.js';
import { selectSnapshots } from '../../repository/snapshot-selection.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';
import { addFilterOptions, collect, type FilterOptions, filterOf } from '../snapshot-filter-options.js';

interface TagOptions extends FilterOptions {
  set: string[];
  add: string[];
  remove: string[];
}

/** All tags of repeated `a,b` options, blanks dropped: `--set ''` means no tags. */
function flatten(lists: readonly string[]): string[] {
  return lists.flatMap((l) => l.split(',').map((t) => t.trim())).filter((t) => t !== '');
}

export function registerTag(program: Command): void {
  addFilterOptions(program.command('tag [ids...]').description('modify the tags of snapshots'), ', when no snapshot ID is given')
    .option('--set <tags>', 'tags which will replace the existing tags, in the format tag[,tag,...] (can be given multiple times)', collect, [])
    .option('--add <tags>', 'tags which will be added to the existing tags (can be given multiple times)', collect, [])
    .option('--remove <tags>', 'tags which will be removed from the existing tags (can be given multiple times)', collect, [])
    .action(
      action(async (ids: string[], opts: TagOptions, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        const change: TagChange = {
          ...(opts.set.length > 0 ? { set: flatten(opts.set) } : {}),
          ...(opts.add.length > 0 ? { add: flatten(opts.add) } : {}),
          ...(opts.remove.length > 0 ? { remove: flatten(opts.remove) } : {}),
        };
        checkTagChange(change);
        await withRepository(g, { lock: 'exclusive' }, async (repo) => {
          const snapshots = await selectSnapshots(repo, ids, filterOf(opts), (m) => out.warn(m));
          const changed = await retagSnapshots(repo, snapshots, change);
          for (const c of changed) {
            out.emit({ message_type: 'changed', old_snapshot_id: c.oldId, new_snapshot_id: c.newId });
            out.verbose(`old snapshot ID: ${c.oldId} -> new snapshot ID: ${c.newId}`);
          }
          out.emit({ message_type: 'summary', changed_snapshots: changed.length });
          out.info(changed.length === 0 ? 'no snapshots were modified' : `modified tags on ${changed.length} snapshots`);
        });
      }),
    );
}
