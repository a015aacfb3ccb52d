// Snapshots shown as restic 0.14 shows them: the table of `snapshots` and `forget`, the heading of
// a group, and the JSON document with its id and short id.

import { goTimeToDate } from '../format/go-json.js';
import { shortId } from '../format/id.js';
import { encodeSnapshot } from '../format/snapshot.js';
import type { SnapshotGroupKey } from '../repository/snapshot-groups.js';
import type { SnapshotEntry } from '../repository/snapshots.js';
import { formatLocalTime } from './format.js';
import { renderResticTable } from './restic-table.js';

/**
 * The snapshot's JSON with `extra` fields appended (restic adds id and short_id). The document
 * is written as stored, fields of newer restic versions included.
 */
export function snapshotJson(entry: SnapshotEntry, extra = ''): string {
  const doc = encodeSnapshot(entry.snapshot).toString('utf8');
  return doc.slice(0, -1) + `,"id":"${entry.id}","short_id":"${shortId(entry.id)}"${extra}}`;
}

/** The snapshot document alone, as restic embeds it in forget's keep reasons. */
export function bareSnapshotJson(entry: SnapshotEntry): string {
  return encodeSnapshot(entry.snapshot).toString('utf8');
}

export interface SnapshotTableOptions {
  readonly compact: boolean;
  /** Why each snapshot is kept, by id (forget). */
  readonly reasons?: ReadonlyMap<string, readonly string[]>;
}

/** restic's PrintSnapshots: oldest first, several paths on several lines. */
export function renderSnapshotTable(list: readonly SnapshotEntry[], options: SnapshotTableOptions): string {
  const sorted = [...list].sort((a, b) => (a.snapshot.time.ns < b.snapshot.time.ns ? -1 : a.snapshot.time.ns > b.snapshot.time.ns ? 1 : 0));
  const reasons = options.reasons;
  const headers = options.compact ? ['ID', 'Time', 'Host', 'Tags  '] : ['ID', 'Time', 'Host      ', 'Tags      ', ...(reasons ? ['Reasons'] : []), 'Paths'];
  const rows = sorted.map(({ id, snapshot: sn }) => {
    const common = [shortId(id), formatLocalTime(goTimeToDate(sn.time)), sn.hostname ?? ''];
    if (options.compact) return [...common, (sn.tags ?? []).join('\n')];
    return [...common, (sn.tags ?? []).join(','), ...(reasons ? [(reasons.get(id) ?? []).join('\n')] : []), sn.paths.join('\n')];
  });
  const multiline = !options.compact && sorted.some((e) => e.snapshot.paths.length > 1);
  return renderResticTable(headers, rows, { footer: [`${sorted.length} snapshots`], blankBetweenRows: multiline });
}

/** "snapshots for (host [h], tags [a, b], paths [/p]):", or '' for a group that is everything. */
export function groupHeading(key: SnapshotGroupKey): string {
  if (key.hostname === '' && key.tags === null && key.paths === null) return '';
  const parts: string[] = [];
  if (key.hostname !== '') parts.push(`host [${key.hostname}]`);
  if (key.tags !== null) parts.push(`tags [${key.tags.join(', ')}]`);
  if (key.paths !== null) parts.push(`paths [${key.paths.join(', ')}]`);
  return `snapshots for (${parts.join(', ')}):`;
}
