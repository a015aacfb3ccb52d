// The snapshots a command works on, chosen as restic chooses them: the ids (or `latest`) given on
// the command line, or else every snapshot that passes the host, path and tag filters.

import { resolve } from 'node:path';
import { HoldfastError, messageOf } from '../errors.js';
import { findSnapshot, loadSnapshot, loadSnapshots, type SnapshotEntry, type SnapshotFilter } from './snapshots.js';
import type { Repository } from './repository.js';

function describeFilter(filter: SnapshotFilter): string {
  const list = (values: readonly string[] | undefined) => `[${(values ?? []).join(' ')}]`;
  const tags = `[${(filter.tags ?? []).map((g) => `[${g.join(', ')}]`).join(' ')}]`;
  return `(Paths:${list(filter.paths)} Tags:${tags} Hosts:${list(filter.hosts)})`;
}

function hasFilter(filter: SnapshotFilter): boolean {
  return (filter.hosts?.length ?? 0) > 0 || (filter.paths?.length ?? 0) > 0 || (filter.tags?.length ?? 0) > 0;
}

/**
 * With no ids: every snapshot matching the filter, oldest first. With ids: those snapshots in the
 * order given, each once; the filter then only applies to `latest` (where --path is taken relative
 * to the working directory, as restic does). Ids that match nothing are reported through `warn`
 * and skipped, so one typo does not hide the other snapshots.
 */
export async function selectSnapshots(
  repo: Repository,
  specs: readonly string[],
  filter: SnapshotFilter,
  warn: (message: string) => void,
): Promise<SnapshotEntry[]> {
  if (specs.length === 0) return loadSnapshots(repo, filter);
  const ids: string[] = [];
  let usedFilter = false;
  for (const spec of specs) {
    try {
      if (spec === 'latest') {
        usedFilter = true;
        const latestFilter = { ...filter, paths: filter.paths?.map((p) => resolve(p)) };
        ids.push((await findSnapshot(repo, 'latest', latestFilter)).id);
      } else {
        ids.push(await repo.resolvePrefix('snapshots', spec));
      }
    } catch (err) {
      if (!(err instanceof HoldfastError)) throw err;
      if (spec === 'latest') warn(`Ignoring "latest", no snapshot matched given filter ${describeFilter(filter)}`);
      else warn(`Ignoring "${spec}": ${err.message}`);
    }
  }
  if (!usedFilter && hasFilter(filter)) warn('Ignoring filters as there are explicit snapshot ids given');
  const entries: SnapshotEntry[] = [];
  for (const id of new Set(ids)) {
    try {
      entries.push({ id, snapshot: await loadSnapshot(repo, id) });
    } catch (err) {
      if (!(err instanceof HoldfastError)) throw err;
      warn(`Ignoring "${id}", could not load snapshot: ${messageOf(err)}`);
    }
  }
  return entries;
}
