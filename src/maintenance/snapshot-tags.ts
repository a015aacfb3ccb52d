// tag: changes the tags of snapshots. A snapshot file is immutable, so a changed snapshot is saved
// as a new file that names the first version in `original`, and the old file is removed.

import { invalidArgument } from '../errors.js';
import type { Snapshot } from '../format/snapshot.js';
import { saveSnapshot, type SnapshotEntry } from '../repository/snapshots.js';
import type { Repository } from '../repository/repository.js';

export interface TagChange {
  /** Replaces all tags; [] removes them. */
  readonly set?: readonly string[];
  readonly add?: readonly string[];
  readonly remove?: readonly string[];
}

export interface RetaggedSnapshot {
  readonly oldId: string;
  readonly newId: string;
}

export function checkTagChange(change: TagChange): void {
  if (change.set === undefined && change.add === undefined && change.remove === undefined) throw invalidArgument('nothing to do: give --set, --add or --remove');
  if (change.set !== undefined && (change.add !== undefined || change.remove !== undefined)) {
    throw invalidArgument('--set and --add/--remove cannot be given at the same time');
  }
}

/**
 * The new tag list, or undefined when nothing changes. Adding appends tags not yet present;
 * removing moves the last tag into the removed one's place, which is the order restic leaves.
 */
export function changedTags(current: readonly string[], change: TagChange): string[] | undefined {
  if (change.set !== undefined) return [...change.set];
  const tags = [...current];
  let changed = false;
  for (const tag of change.add ?? []) {
    if (!tags.includes(tag)) {
      tags.push(tag);
      changed = true;
    }
  }
  for (const tag of change.remove ?? []) {
    const i = tags.indexOf(tag);
    if (i < 0) continue;
    tags[i] = tags[tags.length - 1]!;
    tags.pop();
    changed = true;
  }
  return changed ? tags : undefined;
}

/**
 * Applies the change to each snapshot. The rewritten document keeps every other field, fields
 * this version does not know included; the new file is written before the old one is removed,
 * so an interruption leaves both versions rather than none.
 */
export async function retagSnapshots(repo: Repository, entries: readonly SnapshotEntry[], change: TagChange): Promise<RetaggedSnapshot[]> {
  checkTagChange(change);
  const done: RetaggedSnapshot[] = [];
  for (const { id, snapshot } of entries) {
    const tags = changedTags(snapshot.tags ?? [], change);
    if (tags === undefined) continue;
    const next: Snapshot = { ...snapshot, original: snapshot.original ?? id };
    if (tags.length > 0) next.tags = tags;
    else delete next.tags;
    const newId = await saveSnapshot(repo, next);
    if (newId !== id) await repo.backend.remove({ type: 'snapshots', name: id });
    done.push({ oldId: id, newId });
  }
  return done;
}
