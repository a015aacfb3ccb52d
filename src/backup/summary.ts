// What a backup did, counted as it runs: the numbers of the summary line, the --json summary and
// the snapshot's `summary` field, plus what restic does not count (deletions, bytes read).

export interface BackupCounters {
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  filesDeleted: number;
  dirsNew: number;
  dirsChanged: number;
  dirsUnmodified: number;
  dirsDeleted: number;
  /** Unmodified directories whose trees came from the local directory cache, unwalked (holdfast's own). */
  dirsReused: number;
  /** Blobs this run added to the repository. */
  dataBlobs: number;
  treeBlobs: number;
  /** Plaintext bytes of the blobs added. */
  dataAdded: number;
  /** Stored (compressed, encrypted) bytes of the blobs added. */
  dataAddedPacked: number;
  totalFilesProcessed: number;
  totalBytesProcessed: number;
  /** Bytes read from source files (unchanged files are not read). */
  bytesRead: number;
  /** Entries skipped because they could not be read. */
  errors: number;
}

export function newCounters(): BackupCounters {
  return {
    filesNew: 0,
    filesChanged: 0,
    filesUnmodified: 0,
    filesDeleted: 0,
    dirsNew: 0,
    dirsChanged: 0,
    dirsUnmodified: 0,
    dirsDeleted: 0,
    dirsReused: 0,
    dataBlobs: 0,
    treeBlobs: 0,
    dataAdded: 0,
    dataAddedPacked: 0,
    totalFilesProcessed: 0,
    totalBytesProcessed: 0,
    bytesRead: 0,
    errors: 0,
  };
}

/** The counters under restic's summary names (snake case), for --json output and the agent. */
export function countersSummary(c: BackupCounters): Record<string, number> {
  return {
    files_new: c.filesNew,
    files_changed: c.filesChanged,
    files_unmodified: c.filesUnmodified,
    files_deleted: c.filesDeleted,
    dirs_new: c.dirsNew,
    dirs_changed: c.dirsChanged,
    dirs_unmodified: c.dirsUnmodified,
    dirs_deleted: c.dirsDeleted,
    dirs_reused: c.dirsReused,
    data_blobs: c.dataBlobs,
    tree_blobs: c.treeBlobs,
    data_added: c.dataAdded,
    data_added_packed: c.dataAddedPacked,
    bytes_read: c.bytesRead,
    total_files_processed: c.totalFilesProcessed,
    total_bytes_processed: c.totalBytesProcessed,
  };
}
