// Finding snapshots: all of them, filtered by host, path and tag as restic filters, `latest` or
// an id prefix, and the parent of a new backup (latest one of the same host and paths).

import { HoldfastError } from '../errors.js';
import { decodeSnapshot, encodeSnapshot, type Snapshot } from '../format/snapshot.js';
import { forEachLimited } from '../concurrency.js';
import type { Repository } from './repository.js';

export interface SnapshotEntry {
  readonly id: string;
  readonly snapshot: Snapshot;
}

export interface SnapshotFilter {
  readonly hosts?: readonly string[];
  /** A snapshot matches when it has every one of these paths. */
  readonly paths?: readonly string[];
  /** Groups of tags: a snapshot matches when it has all tags of at least one group. */
  readonly tags?: readonly (readonly string[])[];
}

/**
 * Parses restic's repeated `--tag a,b` options: each option is a group of tags that must all be
 * present. Empty tags are kept: `--tag ''` selects the snapshots that have no tags, as in restic.
 */
export function parseTagGroups(values: readonly string[] | undefined): string[][] | undefined {
  if (!values || values.length === 0) return undefined;
  return values.map((v) => v.split(',').map((t) => t.trim()));
}

/** restic's HasTags: every tag of the group is present; an empty tag matches a snapshot without tags. */
export function hasTags(sn: Snapshot, group: readonly string[]): boolean {
  const tags = sn.tags ?? [];
  for (const tag of group) {
    if (tag === '' && tags.length === 0) return true;
    if (!tags.includes(tag)) return false;
  }
  return true;
}

export function matchesFilter(sn: Snapshot, filter: SnapshotFilter): boolean {
  if (filter.hosts && filter.hosts.length > 0 && !filter.hosts.includes(sn.hostname ?? '')) return false;
  if (filter.paths && filter.paths.length > 0 && !filter.paths.every((p) => sn.paths.includes(p))) return false;
  if (filter.tags && filter.tags.length > 0 && !filter.tags.some((group) => hasTags(sn, group))) return false;
  return true;
}

export async function loadSnapshot(repo: Repository, id: string): Promise<Snapshot> {
  return decodeSnapshot(await repo.loadUnpacked('snapshots', id));
}

/** Every snapshot (optionally filtered), oldest first. */
export async function loadSnapshots(repo: Repository, filter: SnapshotFilter = {}): Promise<SnapshotEntry[]> {
  const ids: string[] = [];
  for await (const f of repo.list('snapshots')) ids.push(f.name);
  const entries: SnapshotEntry[] = [];
  await forEachLimited(ids, 8, async (id) => {
    const snapshot = await loadSnapshot(repo, id);
    if (matchesFilter(snapshot, filter)) entries.push({ id, snapshot });
  });
  return entries.sort(compareByTime);
}

export function compareByTime(a: SnapshotEntry, b: SnapshotEntry): number {
  const d = a.snapshot.time.ns - b.snapshot.time.ns;
  return d < 0n ? -1 : d > 0n ? 1 : a.id < b.id ? -1 : 1;
}

/** `latest` (newest matching the filter) or a unique id prefix. */
export async function findSnapshot(repo: Repository, spec: string, filter: SnapshotFilter = {}): Promise<SnapshotEntry> {
  if (spec === 'latest') {
    const all = await loadSnapshots(repo, filter);
    const latest = all.at(-1);
    if (!latest) throw new HoldfastError('ERR_NOT_FOUND', 'no snapshot found (check --host, --path and --tag)');
    return latest;
  }
  if (!/^[0-9a-f]{1,64}$/.test(spec)) throw new HoldfastError('ERR_INVALID_ARGUMENT', `invalid snapshot id "${spec}"`);
  const id = await repo.resolvePrefix('snapshots', spec);
  return { id, snapshot: await loadSnapshot(repo, id) };
}

function samePaths(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((p, i) => p === sb[i]);
}

/** The snapshot a new backup of `paths` on `host` compares against: the latest with the same host and paths. */
export async function findParent(repo: Repository, host: string, paths: readonly string[], before?: bigint): Promise<SnapshotEntry | undefined> {
  const candidates = await loadSnapshots(repo, { hosts: [host] });
  let best: SnapshotEntry | undefined;
  for (const e of candidates) {
    if (!samePaths(e.snapshot.paths, paths)) continue;
    if (before !== undefined && e.snapshot.time.ns > before) continue;
    best = e;
  }
  return best;
}

export async function saveSnapshot(repo: Repository, sn: Snapshot): Promise<string> {
  return repo.saveUnpacked('snapshots', encodeSnapshot(sn));
}
