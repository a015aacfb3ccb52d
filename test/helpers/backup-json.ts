// Reading holdfast's --json output: the summary line of a backup and the snapshots of a repository.

import assert from 'node:assert/strict';
import type { RunResult } from './cli.js';

export interface BackupSummary {
  files_new: number;
  files_changed: number;
  files_unmodified: number;
  files_deleted: number;
  dirs_new: number;
  dirs_changed: number;
  dirs_unmodified: number;
  dirs_deleted: number;
  dirs_reused: number;
  data_blobs: number;
  tree_blobs: number;
  data_added: number;
  data_added_packed: number;
  bytes_read: number;
  total_files_processed: number;
  errors: number;
  open_for_write: string[];
  parent?: string;
  snapshot_id?: string;
}

export function summaryOf(r: RunResult): BackupSummary {
  const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  const summary = lines.map((l) => JSON.parse(l)).find((o) => o.message_type === 'summary');
  assert.ok(summary, `no summary in output: ${r.stdout} ${r.stderr}`);
  return summary as BackupSummary;
}
