// Grouping snapshots by host, paths and tags as restic's --group-by does; `snapshots` and `forget`
// both group, and forget applies its policy to each group on its own.

import { invalidArgument } from '../errors.js';
import { goJsonString } from '../format/go-json.js';
import type { SnapshotEntry } from './snapshots.js';

export interface GroupBy {
  readonly host: boolean;
  readonly paths: boolean;
  readonly tags: boolean;
}

/** What the snapshots of a group share; null where the grouping does not look at it (restic's nil). */
export interface SnapshotGroupKey {
  readonly hostname: string;
  readonly paths: readonly string[] | null;
  readonly tags: readonly string[] | null;
}

export interface SnapshotGroup {
  readonly key: SnapshotGroupKey;
  readonly snapshots: SnapshotEntry[];
}

/** Parses `host,paths,tags` (singular forms too); '' means no grouping. */
export function parseGroupBy(spec: string): GroupBy {
  const by = { host: false, paths: false, tags: false };
  for (const option of spec.split(',')) {
    switch (option) {
      case 'host':
      case 'hosts':
        by.host = true;
        break;
      case 'path':
      case 'paths':
        by.paths = true;
        break;
      case 'tag':
      case 'tags':
        by.tags = true;
        break;
      case '':
        break;
      default:
        throw invalidArgument(`unknown grouping option: '${option}'`);
    }
  }
  return by;
}

export function isGrouped(by: GroupBy): boolean {
  return by.host || by.paths || by.tags;
}

function sortedStrings(values: readonly string[]): string[] {
  // Go's sort.Strings orders by bytes; for UTF-16 strings that is code point order.
  return [...values].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** The key as restic marshals it; equal keys mean one group. */
export function groupKeyJson(key: SnapshotGroupKey): string {
  const list = (v: readonly string[] | null) => (v === null ? 'null' : '[' + v.map(goJsonString).join(',') + ']');
  return `{"hostname":${goJsonString(key.hostname)},"paths":${list(key.paths)},"tags":${list(key.tags)}}`;
}

/**
 * Splits snapshots into groups, keeping their order within each group. Like restic, every
 * snapshot's paths come back sorted, and its tags too when grouping by tags; groups are ordered by
 * their key (restic's order is that of a Go map, which is random).
 */
export function groupSnapshots(entries: readonly SnapshotEntry[], by: GroupBy): SnapshotGroup[] {
  const groups = new Map<string, SnapshotGroup>();
  for (const entry of entries) {
    const paths = sortedStrings(entry.snapshot.paths);
    const tags = by.tags ? sortedStrings(entry.snapshot.tags ?? []) : entry.snapshot.tags;
    const shown: SnapshotEntry = { id: entry.id, snapshot: { ...entry.snapshot, paths, ...(tags === undefined ? {} : { tags }) } };
    const key: SnapshotGroupKey = {
      hostname: by.host ? (entry.snapshot.hostname ?? '') : '',
      paths: by.paths ? paths : null,
      tags: by.tags && tags !== undefined && tags.length > 0 ? tags : null,
    };
    const json = groupKeyJson(key);
    const group = groups.get(json);
    if (group) group.snapshots.push(shown);
    else groups.set(json, { key, snapshots: [shown] });
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
}
