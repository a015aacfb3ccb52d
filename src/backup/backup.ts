// One backup run from start to commit: load the index, take over packs a killed run left behind,
// find the parent, archive the sources, write index checkpoints, flush, and only then the snapshot.

import { lstat } from 'node:fs/promises';
import { hostname as osHostname, userInfo } from 'node:os';
import type { Readable } from 'node:stream';
import { chunkStream } from '../chunker/chunk-stream.js';
import { HoldfastError } from '../errors.js';
import { goTimeFromDate, localGoTime } from '../format/go-json.js';
import { hashId } from '../format/id.js';
import { makeNode } from '../format/node.js';
import type { Snapshot } from '../format/snapshot.js';
import { encodeTree } from '../format/tree.js';
import type { Repository } from '../repository/repository.js';
import { findParent, findSnapshot, saveSnapshot, type SnapshotEntry } from '../repository/snapshots.js';
import { type ArchiveEvent, Archiver } from './archiver.js';
import { type DirCache, readDirCache, writeDirCache } from './dir-cache.js';
import type { DirCacheUse, Survey } from './survey.js';
import type { ExcludeRules } from '../fs/exclude-rules.js';
import { type BackupCounters, newCounters } from './summary.js';
import { buildTargetTree, snapshotPaths } from './targets.js';

export const programVersion = 'holdfast 0.1.0';

export interface BackupOptions {
  readonly paths: readonly string[];
  readonly rules: ExcludeRules;
  readonly hostname?: string;
  readonly tags?: readonly string[];
  /** Snapshot id (or prefix) to compare against instead of the latest of the same host and paths. */
  readonly parent?: string;
  readonly force?: boolean;
  readonly dryRun?: boolean;
  /** Exclude patterns, recorded in the snapshot. */
  readonly excludes?: readonly string[];
  readonly time?: Date;
  /** Back up one stream as a single file instead of paths. */
  readonly stdin?: { readonly stream: Readable; readonly filename: string };
  /** Milliseconds between index checkpoints. */
  readonly checkpointEvery?: number;
  readonly openFiles?: { wasOpenForWrite(device: bigint, inode: bigint): boolean } | undefined;
  /**
   * The local directory cache of this backup set: written after the snapshot; read, with the
   * survey of the sources, to reuse the trees of unchanged directories.
   */
  readonly dirCache?: DirCacheUse | undefined;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: BackupEvent) => void;
}

export type BackupEvent =
  | ArchiveEvent
  | { readonly type: 'start'; readonly parent?: string | undefined; readonly adoptedPacks: number; readonly adoptedBytes: number }
  | { readonly type: 'checkpoint'; readonly indexFiles: number };

export interface BackupResult {
  readonly snapshotId: string | undefined;
  readonly snapshot: Snapshot;
  readonly parent: SnapshotEntry | undefined;
  readonly counters: BackupCounters;
  readonly openForWrite: readonly string[];
  readonly adoptedPacks: number;
  readonly durationMs: number;
}

const DEFAULT_CHECKPOINT_MS = 5 * 60 * 1000;

function currentUser(): { username: string; uid: number; gid: number } {
  let username = '';
  try {
    username = userInfo().username;
  } catch {
    // Without a passwd entry the snapshot simply has no user name, as with restic.
  }
  return { username, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
}

/**
 * Writes index checkpoints on a timer so a killed run can be resumed. A tick that comes while a
 * checkpoint is still being written is skipped: against a server that is down each write takes
 * its whole retry time, and queued ticks would keep a failed run waiting for all of them.
 */
function startCheckpoints(repo: Repository, every: number, onDone: (files: number) => void): () => Promise<void> {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = repo
      .writeIndex()
      .then((files) => {
        if (files.length > 0) onDone(files.length);
      })
      // A failed checkpoint leaves its packs for the next one, or for the final index.
      .catch(() => undefined)
      .finally(() => (running = undefined));
  }, every);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

async function archiveStdin(repo: Repository, stdin: NonNullable<BackupOptions['stdin']>, counters: BackupCounters): Promise<string> {
  const content: string[] = [];
  let size = 0;
  for await (const chunk of chunkStream(stdin.stream, repo.config.chunkerPolynomial)) {
    const length = chunk.length;
    size += length;
    await repo.ready();
    const r = await repo.saveBlob('data', chunk);
    if (!r.known) {
      counters.dataBlobs++;
      counters.dataAdded += length;
      counters.dataAddedPacked += r.storedBytes;
    }
    content.push(r.id);
  }
  counters.bytesRead += size;
  counters.filesNew++;
  counters.totalFilesProcessed++;
  counters.totalBytesProcessed += size;
  const now = localGoTime(BigInt(Date.now()) * 1_000_000n);
  const user = currentUser();
  const node = makeNode({
    name: Buffer.from(stdin.filename),
    type: 'file',
    mode: 0o644,
    mtime: now,
    atime: now,
    ctime: now,
    uid: user.uid,
    gid: user.gid,
    user: user.username,
    size: BigInt(size),
    content,
  });
  const tree = encodeTree([node]);
  const r = await repo.saveBlob('tree', tree, hashId(tree));
  if (!r.known) counters.treeBlobs++;
  return r.id;
}

/** The given paths that cannot be found: restic warns about some, and refuses when all are missing. */
async function missingPaths(paths: readonly string[]): Promise<{ path: string; message: string }[]> {
  const missing: { path: string; message: string }[] = [];
  for (const path of paths) {
    try {
      await lstat(path);
    } catch (err) {
      missing.push({ path, message: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (err as Error).message });
    }
  }
  return missing;
}

/** The parent's directory cache with this run's survey, when the cache is the parent's and its trees are all still indexed. */
async function unchangedDirectories(
  repo: Repository,
  dirCache: BackupOptions['dirCache'],
  parent: SnapshotEntry | undefined,
  indexFiles: readonly string[],
): Promise<{ cache: DirCache; survey: Survey } | undefined> {
  const survey = dirCache?.survey;
  if (!survey) return undefined;
  const cache = parent && (await readDirCache(dirCache.file, repo.key));
  const present = new Set(indexFiles);
  if (!cache || cache.snapshot !== parent.id || !cache.indexFiles.every((id) => present.has(id))) {
    survey.cancel();
    return undefined;
  }
  return { cache, survey: await survey.result };
}

/** A cache that cannot be written costs the next backup its speed, not its correctness: it is not an error. */
async function saveDirCache(repo: Repository, file: string, snapshot: string, archiver: Archiver): Promise<void> {
  try {
    const indexFiles: string[] = [];
    for await (const f of repo.backend.list('index')) indexFiles.push(f.name);
    await writeDirCache(file, repo.key, { snapshot, indexFiles, dirs: archiver.directoryCache() });
  } catch {
    // The next backup walks everything, as it would without a cache.
  }
}

export async function backup(repo: Repository, options: BackupOptions): Promise<BackupResult> {
  const started = options.time ?? new Date();
  const startMs = Date.now();
  const host = options.hostname ?? osHostname();
  if (!options.stdin && options.paths.length === 0) throw new HoldfastError('ERR_INVALID_ARGUMENT', 'nothing to back up: give at least one path');
  const paths = options.stdin ? [`/${options.stdin.filename}`] : snapshotPaths(options.paths);

  const missing = options.stdin ? [] : await missingPaths(options.paths);
  if (!options.stdin && missing.length === options.paths.length) {
    throw new HoldfastError('ERR_INVALID_ARGUMENT', `nothing to back up: ${missing.map((m) => m.path).join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist`);
  }

  const indexFiles = await repo.loadIndex();
  const adopted = options.dryRun ? { packs: 0, bytes: 0 } : await repo.adoptUnindexedPacks();
  const parent = options.parent ? await findSnapshot(repo, options.parent) : await findParent(repo, host, paths);
  options.onEvent?.({ type: 'start', parent: parent?.id, adoptedPacks: adopted.packs, adoptedBytes: adopted.bytes });

  const unchanged = options.force || options.stdin ? undefined : await unchangedDirectories(repo, options.dirCache, parent, indexFiles);
  const archiver = new Archiver(repo, { ...options, unchanged });
  const stopCheckpoints = startCheckpoints(repo, options.checkpointEvery ?? DEFAULT_CHECKPOINT_MS, (files) =>
    options.onEvent?.({ type: 'checkpoint', indexFiles: files }),
  );
  let tree: string;
  let counters: BackupCounters;
  try {
    if (options.stdin) {
      counters = newCounters();
      tree = await archiveStdin(repo, options.stdin, counters);
    } else {
      for (const m of missing) archiver.reportUnreadable(Buffer.from(m.path), m.message);
      const present = options.paths.filter((p) => !missing.some((m) => m.path === p));
      tree = await archiver.run(buildTargetTree(present), parent?.snapshot.tree);
      counters = archiver.counters;
    }
    await stopCheckpoints();
    if (!options.dryRun) await repo.flush();
  } catch (err) {
    await stopCheckpoints();
    // Keep what was uploaded: describe finished packs in an index so the next run reuses them.
    if (!options.dryRun) await repo.waitForUploads().then(() => repo.writeIndex()).catch(() => undefined);
    throw err;
  }

  const user = currentUser();
  const ended = new Date();
  const snapshot: Snapshot = {
    time: goTimeFromDate(started),
    ...(parent ? { parent: parent.id } : {}),
    tree,
    paths,
    hostname: host,
    username: user.username,
    uid: user.uid,
    gid: user.gid,
    ...(options.excludes && options.excludes.length > 0 ? { excludes: [...options.excludes] } : {}),
    ...(options.tags && options.tags.length > 0 ? { tags: [...options.tags] } : {}),
    programVersion,
    summary: {
      backupStart: goTimeFromDate(started),
      backupEnd: goTimeFromDate(ended),
      filesNew: counters.filesNew,
      filesChanged: counters.filesChanged,
      filesUnmodified: counters.filesUnmodified,
      dirsNew: counters.dirsNew,
      dirsChanged: counters.dirsChanged,
      dirsUnmodified: counters.dirsUnmodified,
      dataBlobs: counters.dataBlobs,
      treeBlobs: counters.treeBlobs,
      dataAdded: counters.dataAdded,
      dataAddedPacked: counters.dataAddedPacked,
      totalFilesProcessed: counters.totalFilesProcessed,
      totalBytesProcessed: counters.totalBytesProcessed,
    },
    ...(archiver.openForWrite.length > 0 ? { openFiles: [...archiver.openForWrite] } : {}),
  };
  // The commit: the snapshot is written only after every pack and index it needs is stored.
  const snapshotId = options.dryRun ? undefined : await saveSnapshot(repo, snapshot);
  if (snapshotId && options.dirCache && !options.stdin) await saveDirCache(repo, options.dirCache.file, snapshotId, archiver);
  // The index files this run wrote are in memory already: the next command need not read them.
  if (snapshotId) await repo.saveIndexCache();
  return {
    snapshotId,
    snapshot,
    parent,
    counters,
    openForWrite: archiver.openForWrite,
    adoptedPacks: adopted.packs,
    durationMs: Date.now() - startMs,
  };
}
