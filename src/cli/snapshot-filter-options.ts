// The snapshot filter options restic's commands share (--host, --tag, --path, all repeatable), and
// turning them into a filter; each command words their help the way restic does for it.

import type { Command } from 'commander';
import { parseTagGroups, type SnapshotFilter } from '../repository/snapshots.js';

export interface FilterOptions {
  host: string[];
  tag: string[];
  path: string[];
}

/** Commander's way to let an option repeat. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Adds -H/--host, --tag and --path; `when` ends each help text (e.g. ', when no snapshot ID is given'). */
export function addFilterOptions(cmd: Command, when = '', shortHost = true): Command {
  return cmd
    .option(shortHost ? '-H, --host <host>' : '--host <host>', `only consider snapshots for this host${when} (can be given multiple times)`, collect, [])
    .option('--tag <taglist>', `only consider snapshots which include this taglist in the format tag[,tag,...]${when} (can be given multiple times)`, collect, [])
    .option('--path <path>', `only consider snapshots which include this (absolute) path${when} (can be given multiple times)`, collect, []);
}

export function filterOf(opts: FilterOptions): SnapshotFilter {
  return { hosts: opts.host, paths: opts.path, tags: parseTagGroups(opts.tag) };
}
