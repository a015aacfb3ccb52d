// restore: while the walk finds them, directories are made, special nodes created and contents
// restored pack by pack (every blob verified); then hard links, then directory metadata deepest first.

import { access, constants, mkdir, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { forEachLimited, Semaphore } from '../concurrency.js';
import { HoldfastError, isSystemError, messageOf } from '../errors.js';
import type { NodeType } from '../format/file-mode.js';
import { pathBytes } from '../fs/paths.js';
import { findSnapshot, type SnapshotEntry } from '../repository/snapshots.js';
import type { Repository } from '../repository/repository.js';
import { ContentRestorer, INTERRUPTED } from './content-restorer.js';
import { examineExisting, type ExistingState } from './existing-files.js';
import { fileBlobs, type FileBlob } from './file-blobs.js';
import { FileJob, FileWriter, type OpenMode } from './file-writer.js';
import { type KnownOwner, type MetadataContext, permissionBits, restorePathMetadata } from './metadata.js';
import { type PlannedDir, type PlannedEntry, type PlannedLink, type PlanVisitor, walkRestore } from './plan.js';
import { PosixHelper } from './posix-helper.js';
import { RestoreWorkers } from './restore-workers.js';
import type { RestoreAction, RestoreCounts, RestoreEventHandler, RestoreResult } from './restore-events.js';
import type { OverwriteMode, RestoreOptions } from './restore-options.js';
import { RestoreSelection } from './selection.js';
import { findNode } from './snapshot-path.js';
import { createHardLink, createSpecial } from './special-nodes.js';
import { type DirState, TargetDirs } from './target-dirs.js';
import { type VerifyItem, verifyFiles } from './verify.js';

const ENTRY_CONCURRENCY = 32;
const DEFAULT_PACK_CONCURRENCY = 4;
const DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024;

/** The text of a system error without its syscall and path: "permission denied". */
function reason(err: unknown): string {
  const m = /^[A-Z]+: ([^,]+)/.exec(messageOf(err));
  return m ? m[1]! : messageOf(err);
}

/** Makes sure the target is a directory we can write to; resolves whether this call created it. */
async function prepareTarget(path: string, dryRun: boolean): Promise<boolean> {
  let existed: boolean;
  try {
    existed = (await stat(path)).isDirectory();
    if (!existed) throw new HoldfastError('ERR_INVALID_ARGUMENT', `target ${path} exists and is not a directory`);
  } catch (err) {
    if (err instanceof HoldfastError) throw err;
    if (!isSystemError(err, 'ENOENT')) throw new HoldfastError('ERR_PERMISSION', `cannot use target directory ${path}: ${reason(err)}`);
    existed = false;
  }
  if (dryRun) return !existed;
  if (!existed) {
    try {
      await mkdir(path, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new HoldfastError('ERR_PERMISSION', `cannot create target directory ${path}: ${reason(err)}`);
    }
  }
  try {
    await access(path, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new HoldfastError('ERR_PERMISSION', `target directory ${path} is not writable: ${reason(err)}`);
  }
  return !existed;
}

function emptyCounts(): RestoreCounts {
  return {
    totalFiles: 0,
    totalBytes: 0,
    filesRestored: 0,
    filesUpdated: 0,
    filesUnchanged: 0,
    filesSkipped: 0,
    dirs: 0,
    deleted: 0,
    bytesRestored: 0,
    bytesSkipped: 0,
    filesVerified: 0,
  };
}

/** An item event whose location is text made on demand: most listeners never read it. */
class ItemEvent {
  readonly type = 'item';

  constructor(
    readonly action: RestoreAction,
    private readonly entry: PlannedEntry | PlannedDir,
    readonly size: number,
  ) {}

  get kind(): NodeType {
    return this.entry.node?.type ?? 'dir';
  }

  get location(): string {
    return this.entry.location;
  }
}

const ABSENT: ExistingState = { kind: 'absent' };

function hardLinkKey(node: PlannedEntry['node']): string | undefined {
  // Nodes without an inode (other tools, other systems) cannot be told apart: never linked.
  if (node.links <= 1n || node.inode === 0n) return undefined;
  return `${node.inode}:${node.deviceId}`;
}

class RestoreRun implements PlanVisitor {
  readonly errors: { location: string; message: string }[] = [];
  readonly counts = emptyCounts();
  private readonly dirs: TargetDirs;
  private readonly ctx: MetadataContext;
  private readonly writer: FileWriter;
  private readonly content: ContentRestorer;
  private readonly dryRun: boolean;
  private readonly overwrite: OverwriteMode;
  private readonly ownOwner: KnownOwner | undefined;
  /** Read once, before any file is created (reading it briefly sets it to 0). */
  private readonly umask = process.umask();
  private approximateWarned = false;
  /** Every directory restored, for their metadata at the end. */
  private readonly dirList: PlannedDir[] = [];
  /** The first file of each hard-link group, restored with content; the others link to it. */
  private readonly linkPrimaries = new Map<string, PlannedEntry>();
  private readonly links: PlannedLink[] = [];
  /** Work started for each entry as the walk finds it. */
  private readonly tasks = new Set<Promise<void>>();
  /** Existing files examined at once (each may be read whole to compare blobs). */
  private readonly checks = new Semaphore(8);
  /** Files whose content this run writes, for --verify. */
  private readonly written: VerifyItem[] = [];
  /** Primaries whose content failed: their hard links are not made. */
  private readonly failed = new Set<PlannedEntry>();
  /** Files left unfinished because the restore was stopped. */
  interrupted = 0;
  /** What each file job does, reported when it completes. */
  private readonly actions = new Map<FileJob, RestoreAction>();

  constructor(
    private readonly repo: Repository,
    private readonly options: RestoreOptions,
    private readonly onEvent: RestoreEventHandler,
    helper: PosixHelper,
    workers: RestoreWorkers,
    selection: RestoreSelection,
    targetCreated: boolean,
  ) {
    this.dryRun = options.dryRun === true;
    this.overwrite = options.overwrite ?? 'always';
    const uid = process.geteuid?.();
    const gid = process.getegid?.();
    this.ownOwner = uid === undefined || gid === undefined ? undefined : { uid, gid };
    this.ctx = {
      helper,
      isRoot: uid === 0,
      onApproximateTime: () => {
        if (this.approximateWarned) return;
        this.approximateWarned = true;
        onEvent({ type: 'warning', message: 'python3 is not available: file times are restored to the microsecond only' });
      },
    };
    const dirOptions = {
      dryRun: this.dryRun,
      delete: options.delete === true,
      selection,
      onError: (location: string, message: string) => this.error(location, message),
      onDeleted: (location: string) => {
        this.counts.deleted++;
        onEvent({ type: 'item', action: 'deleted', kind: 'file', location, size: 0 });
      },
    };
    this.dirs = new TargetDirs(dirOptions, targetCreated);
    this.writer = new FileWriter(this.ctx, (job, outcome) => {
      if (outcome.contentError !== undefined) {
        this.failed.add(job.entry);
        // A stop leaves many files unfinished: they are counted, not each reported.
        if (outcome.contentError === INTERRUPTED) this.interrupted++;
        else this.error(job.entry.location, outcome.contentError);
        return;
      }
      if (outcome.metadataError !== undefined) this.error(job.entry.location, `cannot restore metadata: ${outcome.metadataError}`);
      this.item(this.actions.get(job) ?? 'restored', job.entry, job.size);
      this.actions.delete(job);
    });
    this.content = new ContentRestorer(repo, workers, this.writer, this.ctx, {
      packConcurrency: options.packConcurrency ?? DEFAULT_PACK_CONCURRENCY,
      memoryLimit: options.memoryLimit ?? DEFAULT_MEMORY_LIMIT,
      onBytes: (bytes) => {
        this.counts.bytesRestored += bytes;
        this.onEvent({ type: 'bytes', bytes });
      },
      signal: options.signal,
    });
  }

  error(location: string, message: string): void {
    this.errors.push({ location, message });
    this.onEvent({ type: 'error', location, message });
  }

  private item(action: RestoreAction, entry: PlannedEntry | PlannedDir, size = 0): void {
    if (action === 'restored') this.counts.filesRestored++;
    else if (action === 'updated') this.counts.filesUpdated++;
    else if (action === 'unchanged') this.counts.filesUnchanged++;
    else if (action === 'skipped') this.counts.filesSkipped++;
    this.onEvent(new ItemEvent(action, entry, size));
  }

  private skipBytes(bytes: number): void {
    this.counts.bytesSkipped += bytes;
    this.onEvent({ type: 'bytes', bytes });
  }

  private track(task: Promise<void>): void {
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  // ---- the walk hands on what it finds; work on it starts at once ----

  dir(dir: PlannedDir): void {
    this.dirs.add(dir);
    if (dir.node) this.dirList.push(dir);
  }

  entry(entry: PlannedEntry): void {
    this.counts.totalFiles++;
    switch (entry.node.type) {
      case 'file': {
        const key = hardLinkKey(entry.node);
        const primary = key === undefined ? undefined : this.linkPrimaries.get(key);
        if (primary) {
          this.links.push({ entry, primary });
          return;
        }
        if (key !== undefined) this.linkPrimaries.set(key, entry);
        this.counts.totalBytes += Number(entry.node.size);
        return this.restoreFile(entry);
      }
      case 'symlink':
      case 'fifo':
      case 'dev':
      case 'chardev':
        return this.track(this.restoreSpecial(entry));
      default:
        // Sockets cannot be restored (restic skips them too), nor types from other systems.
        this.item('skipped', entry);
    }
  }

  problem(location: string, message: string): void {
    this.error(location, message);
  }

  /** After the walk: the rest of the contents, hard links, then directory metadata. */
  async finish(): Promise<void> {
    await this.dirs.settled();
    while (this.tasks.size > 0) await Promise.all([...this.tasks]);
    this.onEvent({ type: 'totals', files: this.counts.totalFiles, dirs: this.dirList.length, bytes: this.counts.totalBytes });
    this.onEvent({ type: 'phase', phase: 'content' });
    await this.content.finish();
    await this.writer.drain();
    if (this.options.signal?.aborted) return;
    await forEachLimited(this.links, ENTRY_CONCURRENCY, (link) => this.restoreLink(link));
    this.onEvent({ type: 'phase', phase: 'metadata' });
    await this.restoreDirMetadata();
    if (this.options.verify && !this.dryRun) {
      this.onEvent({ type: 'phase', phase: 'verify' });
      this.counts.filesVerified = await verifyFiles(this.written, (location, message) => this.error(location, message));
    }
  }

  // ---- one entry ----

  /** The state of an entry's directory once made; undefined (and reported) when it could not be. */
  private async parent(entry: PlannedEntry): Promise<DirState | undefined> {
    const parent = await this.dirs.ready(entry.parent);
    if (!parent) this.error(entry.location, 'not restored: its directory could not be created');
    return parent;
  }

  /** What is at an entry's path now: nothing when its directory is new. Undefined after an error. */
  private async existing(entry: PlannedEntry, parent: DirState, blobs?: readonly FileBlob[]): Promise<ExistingState | undefined> {
    if (parent.fresh) return ABSENT;
    try {
      const state = await this.checks.run(() => examineExisting(entry.path, entry.node, blobs, this.overwrite));
      if (state.kind === 'replace' && !this.dryRun) {
        if (!state.isDir) await unlink(entry.path);
        else if (this.options.delete) await rm(entry.path, { recursive: true, force: true });
        else await rmdir(entry.path);
      }
      return state;
    } catch (err) {
      this.error(entry.location, `cannot replace the existing entry: ${messageOf(err)}`);
      return undefined;
    }
  }

  /**
   * The mode to create a file with, and whether that is final: when the umask keeps every bit and
   * there is no setuid, setgid or sticky bit (a chown would clear those), no chmod is needed.
   */
  private createMode(entry: PlannedEntry): [mode: number, final: boolean] {
    const bits = permissionBits(entry.node);
    if ((bits & 0o7000) === 0 && (bits & ~this.umask) === bits) return [bits, true];
    return [0o600, false];
  }

  private owner(parent: DirState): KnownOwner | undefined {
    return parent.created ? this.ownOwner : undefined;
  }

  private async restoreSpecial(entry: PlannedEntry): Promise<void> {
    const parent = await this.parent(entry);
    if (!parent) return;
    const state = await this.existing(entry, parent);
    if (!state) return;
    if (state.kind === 'skip') return this.item('skipped', entry);
    try {
      if (!this.dryRun) await createSpecial(entry.path, entry.node, this.ctx, this.owner(parent));
      this.item('restored', entry);
    } catch (err) {
      this.error(entry.location, `cannot create ${entry.node.type}: ${messageOf(err)}`);
    }
  }

  /**
   * Starts on one file. In a directory this restore made, nothing needs checking and the file is
   * scheduled at once, without a promise; elsewhere the directory and the target are looked at first.
   */
  private restoreFile(entry: PlannedEntry): void {
    const parent = this.dirs.stateOf(entry.parent);
    if (parent?.fresh) return this.scheduleFile(entry, parent, ABSENT);
    this.track(this.examineFile(entry));
  }

  private async examineFile(entry: PlannedEntry): Promise<void> {
    const parent = await this.parent(entry);
    const blobs = parent && this.blobsOf(entry);
    const state = parent && blobs ? await this.existing(entry, parent, blobs) : undefined;
    if (!parent || !blobs || !state) {
      this.failed.add(entry);
      return;
    }
    this.scheduleFile(entry, parent, state, blobs);
  }

  /** The blobs of a file; undefined (and reported) when the index lacks one. */
  private blobsOf(entry: PlannedEntry): FileBlob[] | undefined {
    const blobs = fileBlobs(this.repo, entry.node);
    if (Array.isArray(blobs)) return blobs;
    this.error(entry.location, `cannot restore content: data blob ${blobs.missing} is not in the index`);
    return undefined;
  }

  /** Acts on what is at the file's path: skips it, sets metadata only, or schedules the blobs it needs. */
  private scheduleFile(entry: PlannedEntry, parent: DirState, state: ExistingState, known?: FileBlob[]): void {
    const size = Number(entry.node.size);
    const blobs = known ?? this.blobsOf(entry);
    if (!blobs) {
      this.failed.add(entry);
      return;
    }
    if (state.kind === 'skip') {
      this.item('skipped', entry, size);
      this.skipBytes(size);
      return;
    }
    if (state.kind === 'unchanged') {
      this.skipBytes(size);
      if (this.dryRun) return this.item('unchanged', entry, size);
      // Only the metadata is set; the size is right already.
      const job = new FileJob(entry, size, 'update', false, undefined);
      job.end = size;
      this.actions.set(job, 'unchanged');
      this.writer.start(job);
      return;
    }
    let mode: OpenMode = 'create';
    let skip: boolean[] | undefined;
    if (state.kind === 'update') {
      mode = state.matches.some((m) => m) ? 'update' : 'truncate';
      if (mode === 'update') {
        skip = state.matches;
        this.skipBytes(blobs.reduce((n, b, i) => n + (state.matches[i] ? b.length : 0), 0));
      }
    }
    const action = mode === 'create' ? 'restored' : 'updated';
    if (this.dryRun) {
      this.counts.bytesRestored += size;
      this.onEvent({ type: 'bytes', bytes: size });
      return this.item(action, entry, size);
    }
    const sparse = this.options.sparse !== false && mode !== 'update';
    const job = new FileJob(entry, size, mode, sparse, mode === 'create' ? this.owner(parent) : undefined, ...this.createMode(entry));
    this.actions.set(job, action);
    if (this.options.verify) this.written.push({ entry, blobs });
    this.content.add(job, blobs, skip);
    this.writer.start(job);
  }

  private async restoreLink(link: PlannedLink): Promise<void> {
    const { entry, primary } = link;
    const parent = await this.parent(entry);
    if (!parent) return;
    if (this.failed.has(primary)) {
      this.error(entry.location, `hard link not created: ${primary.location} could not be restored`);
      return;
    }
    const state = await this.existing(entry, parent);
    if (!state) return;
    if (state.kind === 'skip') return this.item('skipped', entry);
    try {
      if (!this.dryRun) await createHardLink(primary.path, entry.path, entry.node, this.ctx);
      this.item('restored', entry);
    } catch (err) {
      this.error(entry.location, `cannot create hard link to ${primary.location}: ${messageOf(err)}`);
    }
  }

  /** Deepest first, so that setting a directory's times comes after every change inside it. */
  private async restoreDirMetadata(): Promise<void> {
    const levels: PlannedDir[][] = [];
    for (const dir of this.dirList) (levels[dir.depth] ??= []).push(dir);
    for (let depth = levels.length - 1; depth > 0; depth--) {
      await forEachLimited(levels[depth] ?? [], ENTRY_CONCURRENCY, async (dir) => {
        const state = this.dirs.stateOf(dir);
        if (!state) return;
        this.counts.dirs++;
        if (this.dryRun) return;
        try {
          await restorePathMetadata(dir.path, dir.node!, this.ctx, state.created ? this.ownOwner : undefined);
        } catch (err) {
          this.error(dir.location, `cannot restore metadata: ${messageOf(err)}`);
        }
      });
    }
  }
}

/**
 * Restores `subpath` (a directory, `/` for everything) of a snapshot — an id, an id prefix or
 * `latest` (picked with options.filter), or an entry already loaded — into the directory `target`.
 * File errors are collected in the result, not thrown; a target that cannot be written is thrown.
 */
export async function restoreSnapshot(
  repo: Repository,
  snapshot: string | SnapshotEntry,
  subpath: string,
  target: string,
  options: RestoreOptions = {},
  onEvent: RestoreEventHandler = () => undefined,
): Promise<RestoreResult> {
  const started = Date.now();
  let result: RestoreResult;
  const selection = new RestoreSelection(options);
  const entry = typeof snapshot === 'string' ? await findSnapshot(repo, snapshot, options.filter) : snapshot;
  if (repo.index.packCount === 0) await repo.loadIndex();
  const found = await findNode(repo, entry.snapshot.tree, subpath);
  if (found.tree === undefined) {
    throw new HoldfastError('ERR_INVALID_ARGUMENT', `"${found.path}" is a ${found.node?.type}, not a directory: restore its directory with --include, or use dump`);
  }
  const targetPath = resolve(target);
  const targetCreated = await prepareTarget(targetPath, options.dryRun === true);
  const helper = new PosixHelper(targetPath);
  const workers = new RestoreWorkers(repo.key, options.threads);
  try {
    const run = new RestoreRun(repo, options, onEvent, helper, workers, selection, targetCreated);
    onEvent({ type: 'start', snapshot: entry, target: targetPath });
    try {
      await walkRestore(repo, found.tree, pathBytes(targetPath), selection, run);
    } finally {
      // Work already started for what the walk found must end before anything else happens.
      await run.finish();
    }
    if (options.signal?.aborted) {
      throw new HoldfastError('ERR_INTERRUPTED', `restore interrupted: ${run.interrupted} files were not restored (none was left incomplete)`);
    }
    result = { snapshotId: entry.id, target: targetPath, dryRun: options.dryRun === true, counts: run.counts, errors: run.errors, durationMs: Date.now() - started };
  } finally {
    await Promise.all([helper.close(), workers.close()]);
  }
  return result;
}
