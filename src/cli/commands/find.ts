// holdfast find: files and directories matching patterns in snapshots, or where given blobs, trees
// or packs are used (--blob, --tree, --pack), printed as restic 0.14 prints them.

import type { Command } from 'commander';
import { IdFinder, type IdHit } from '../../browse/find-ids.js';
import { type FindOptions, NodeFinder } from '../../browse/find-nodes.js';
import { parseFindTime } from '../../browse/find-time.js';
import { invalidArgument } from '../../errors.js';
import { formatGoTime, goJsonString, goTimeToDate } from '../../format/go-json.js';
import { isId, shortId } from '../../format/id.js';
import type { Repository } from '../../repository/repository.js';
import { selectSnapshots } from '../../repository/snapshot-selection.js';
import type { SnapshotEntry } from '../../repository/snapshots.js';
import { formatLocalTime } from '../../ui/format.js';
import { findNodeJson } from '../../ui/node-json.js';
import type { Output } from '../../ui/output.js';
import { longListing } from '../../ui/restic-text.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';
import { addFilterOptions, collect, type FilterOptions, filterOf } from '../snapshot-filter-options.js';

interface FindCliOptions extends FilterOptions {
  oldest?: string;
  newest?: string;
  older?: string;
  newer?: string;
  snapshot: string[];
  blob?: boolean;
  tree?: boolean;
  pack?: boolean;
  showPackId?: boolean;
  ignoreCase?: boolean;
  long?: boolean;
}

const when = (sn: SnapshotEntry) => formatLocalTime(goTimeToDate(sn.snapshot.time));

async function findNames(repo: Repository, out: Output, snapshots: SnapshotEntry[], options: FindOptions, long: boolean): Promise<void> {
  const finder = new NodeFinder(repo, options);
  const groups: string[] = [];
  let first = true;
  for (const sn of snapshots) {
    const matches: string[] = [];
    await finder.find(sn.snapshot.tree, (path, node) => {
      if (out.json) {
        matches.push(findNodeJson(path, node));
        return;
      }
      if (matches.length === 0) {
        if (!first) out.info('');
        out.info(`Found matching entries in snapshot ${shortId(sn.id)} from ${when(sn)}`);
        first = false;
      }
      matches.push(path);
      out.raw((long ? longListing(path, node) : path) + '\n');
    });
    if (out.json && matches.length > 0) groups.push(`{"matches":[${matches.join(',')}],"hits":${matches.length},"snapshot":"${sn.id}"}`);
  }
  if (out.json) out.raw('[' + groups.join(',') + ']\n');
}

async function findObjects(repo: Repository, out: Output, snapshots: SnapshotEntry[], patterns: string[], opts: FindCliOptions): Promise<void> {
  const blobs = opts.pack ? await IdFinder.blobsOfPacks(repo, patterns, (m) => out.warn(m)) : opts.blob ? new Set(patterns) : undefined;
  const finder = new IdFinder(blobs, opts.tree ? new Set(patterns) : undefined);
  const hits: string[] = [];
  for (const sn of snapshots) {
    await finder.find(repo, sn.snapshot.tree, (hit: IdHit) => {
      if (out.json) {
        const parent = hit.parentTree ? `,"parent_tree":"${hit.parentTree}"` : '';
        hits.push(`{"object_type":"${hit.kind}","id":"${hit.id}","path":${goJsonString(hit.path)}${parent},"snapshot":"${sn.id}","time":"${formatGoTime(sn.snapshot.time)}"}`);
        return;
      }
      let text = `Found ${hit.kind} ${hit.id}\n`;
      text += hit.kind === 'blob' ? ` ... in file ${hit.path}\n     (tree ${hit.parentTree})\n` : ` ... path ${hit.path}\n`;
      out.raw(text + ` ... in snapshot ${shortId(sn.id)} (${when(sn)})\n`);
    });
  }
  if (out.json) out.raw('[' + hits.join(',') + ']\n');
  if (!opts.showPackId) return;
  const objects: Array<['data' | 'tree', string]> = [...(finder.blobIds ?? [])].map((id) => ['data', id]);
  for (const id of finder.treeIds ?? []) objects.push(['tree', id]);
  for (const [type, id] of objects) {
    if (!isId(id)) {
      out.raw(`Note: cannot find pack for object '${id}', unable to parse ID: invalid length for hash\n`);
      continue;
    }
    const loc = repo.index.lookup(type, id);
    if (!loc) {
      out.raw(`Object ${shortId(id)} not found in the index\n`);
      continue;
    }
    const blob = `<Blob (${type}) ${shortId(id)}, offset ${loc.offset}, length ${loc.length}, uncompressed length ${loc.uncompressedLength ?? 0}>`;
    out.raw(`Object belongs to pack ${loc.packId}\n ... Pack ${shortId(loc.packId)}: ${blob}\n`);
  }
}

export function registerFind(program: Command): void {
  addFilterOptions(
    program.command('find <patterns...>').description('find files and directories by path pattern, or the uses of blob, tree or pack ids'),
    ', when no snapshot ID is given',
  )
    .option('-O, --oldest <time>', 'oldest modification date/time')
    .option('-N, --newest <time>', 'newest modification date/time')
    .option('--older <time>', 'the same as --newest: only entries modified at or before this time')
    .option('--newer <time>', 'the same as --oldest: only entries modified at or after this time')
    .option('-s, --snapshot <id>', 'snapshot id to search in (can be given multiple times)', collect, [])
    .option('--blob', 'pattern is a blob-ID')
    .option('--tree', 'pattern is a tree-ID')
    .option('--pack', 'pattern is a pack-ID')
    .option('--show-pack-id', 'display the pack-ID the blobs belong to (with --blob or --tree)')
    .option('-i, --ignore-case', 'ignore case for pattern')
    .option('-l, --long', 'use a long listing format showing size and mode')
    .action(
      action(async (patterns: string[], opts: FindCliOptions, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        const kinds = [opts.blob, opts.tree, opts.pack].filter(Boolean).length;
        if (kinds > 1) throw invalidArgument('cannot have several ID types');
        const oldest = opts.oldest ?? opts.newer;
        const newest = opts.newest ?? opts.older;
        const options: FindOptions = {
          patterns,
          ignoreCase: opts.ignoreCase === true,
          oldest: oldest === undefined ? undefined : parseFindTime(oldest).ns,
          newest: newest === undefined ? undefined : parseFindTime(newest).ns,
        };
        await withRepository(g, { lock: 'shared' }, async (repo) => {
          await repo.loadIndex();
          const snapshots = await selectSnapshots(repo, opts.snapshot, filterOf(opts), (m) => out.warn(m));
          if (kinds > 0) await findObjects(repo, out, snapshots, patterns, opts);
          else await findNames(repo, out, snapshots, options, opts.long === true);
        });
      }),
    );
}
