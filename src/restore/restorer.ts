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
import { examineExisting, type ExistingState, type ExpectedContent } from './existing-files.js';
import { fileBlobs, type FileBlob } from './file-blobs.js';
import { FileJob, FileWriter, type OpenMode } from './file-writer.js';
import { type KnownOwner, type MetadataContext, permissionBits, restorePathMetadata } from './metadata.js';
import { type PlannedDir, type PlannedEntry, type PlannedFile, type PlannedLink, type PlanVisitor, walkRestore } from './plan.js';
import { PosixHelper } from './posix-helper.js';
import { RestoreWorkers } from './restore-workers.js';
import type { RestoreAction, RestoreCounts, RestoreEventHandler, RestoreResult } from './restore-events.js';
import type { OverwriteMode, RestoreOptions } from './restore-options.js';
import { RestoreSelection } from './selection.js';
import { limitHeapGrowth } from './heap-growth.js';
import { findNode } from './snapshot-path.js';
import { createHardLink, createSpecial } from './special-nodes.js';
import { type DirState, TargetDirs } from './target-dirs.js';
import { verifyFiles } from './verify.js';

const ENTRY_CONCURRENCY = 32;
/** Existing files examined at once (each may be read whole to compare blobs). */
const EXAMINE_CONCURRENCY = 8;
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

type Planned = PlannedEntry | PlannedFile | PlannedDir;

/** An item event whose location is text made on demand: most listeners never read it. */
class ItemEvent {
  readonly type = 'item';

  constructor(
    readonly action: RestoreAction,
    private readonly entry: Planned,
    readonly size: number,
  ) {}

  get kind(): NodeType {
    return this.entry.type;
  }

  get location(): string {
    return this.entry.location;
  }
}

const ABSENT: ExistingState = { kind: 'absent' };

/** What the run does with an existing entry at a path before restoring one there. */
interface Target {
  readonly path: Buffer;
  readonly location: string;
  readonly mtimeNs: bigint;
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
  private readonly linkPrimaries = new Map<string, PlannedFile>();
  private readonly links: PlannedLink[] = [];
  /** Work started for entries as the walk finds them. */
  private readonly tasks = new Set<Promise<void>>();
  /** Existing entries examined at once (each may be read whole to compare blobs). */
  private readonly checks = new Semaphore(EXAMINE_CONCURRENCY);
  /** Files waiting for their directory to be made, by directory. */
  private readonly waiting = new Map<PlannedDir, PlannedFile[]>();
  /** Files in directories that held something already, to be examined; from `examined` on. */
  private toExamine: PlannedFile[] = [];
  private examined = 0;
  private examiners = 0;
  /** Files whose content this run writes, for --verify. */
  private readonly written: PlannedFile[] = [];
  /** Existing files to rewrite, waiting for their job: how, and which blobs are in place already. */
  private readonly rewrites = new Map<PlannedFile, { readonly mode: OpenMode; readonly inPlace: readonly boolean[] | undefined }>();
  /** Primaries whose content failed: their hard links are not made. */
  private readonly failed = new Set<PlannedFile>();
  /** Files left unfinished because the restore was stopped. */
  interrupted = 0;

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
        this.failed.add(job.file);
        // A stop leaves many files unfinished: they are counted, not each reported.
        if (outcome.contentError === INTERRUPTED) this.interrupted++;
        else this.error(job.file.location, outcome.contentError);
        return;
      }
      if (outcome.metadataError !== undefined) this.error(job.file.location, `cannot restore metadata: ${outcome.metadataError}`);
      this.item(job.unchanged ? 'unchanged' : job.mode === 'create' ? 'restored' : 'updated', job.file, job.size);
    });
    const contentOptions = {
      packConcurrency: options.packConcurrency ?? DEFAULT_PACK_CONCURRENCY,
      memoryLimit: options.memoryLimit ?? DEFAULT_MEMORY_LIMIT,
      onBytes: (bytes: number) => {
        this.counts.bytesRestored += bytes;
        this.onEvent({ type: 'bytes', bytes });
      },
      signal: options.signal,
    };
    this.content = new ContentRestorer(repo, workers, this.writer, this.ctx, contentOptions, (file) => this.jobOf(file));
  }

  error(location: string, message: string): void {
    this.errors.push({ location, message });
    this.onEvent({ type: 'error', location, message });
  }

  private item(action: RestoreAction, entry: Planned, size = 0): void {
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
    if (dir.metadata) this.dirList.push(dir);
  }

  file(file: PlannedFile, key: string | undefined): void {
    this.counts.totalFiles++;
    const primary = key === undefined ? undefined : this.linkPrimaries.get(key);
    if (primary) {
      this.links.push({ entry: file, primary });
      return;
    }
    if (key !== undefined) this.linkPrimaries.set(key, file);
    this.counts.totalBytes += file.size;
    this.restoreFile(file);
  }

  entry(entry: PlannedEntry): void {
    this.counts.totalFiles++;
    switch (entry.node.type) {
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
      this.counts.filesVerified = await verifyFiles(this.repo, this.written, (location, message) => this.error(location, message));
    }
  }

  // ---- one entry ----

  /** The state of an entry's directory once made; undefined (and reported) when it could not be. */
  private async parent(entry: PlannedEntry | PlannedFile): Promise<DirState | undefined> {
    const parent = await this.dirs.ready(entry.parent);
    if (!parent) this.directoryFailed(entry);
    return parent;
  }

  private directoryFailed(entry: PlannedEntry | PlannedFile): void {
    this.error(entry.location, 'not restored: its directory could not be created');
  }

  /** What is at an entry's path now: nothing when its directory is new. Undefined after an error. */
  private async existing(target: Target, parent: DirState, content?: ExpectedContent): Promise<ExistingState | undefined> {
    if (parent.fresh) return ABSENT;
    const path = target.path;
    try {
      const state = await this.checks.run(() => examineExisting(path, target.mtimeNs, content, this.overwrite));
      if (state.kind === 'replace' && !this.dryRun) {
        if (!state.isDir) await unlink(path);
        else if (this.options.delete) await rm(path, { recursive: true, force: true });
        else await rmdir(path);
      }
      return state;
    } catch (err) {
      this.error(target.location, `cannot replace the existing entry: ${messageOf(err)}`);
      return undefined;
    }
  }

  /**
   * The mode to create a file with, and whether that is final: when the umask keeps every bit and
   * there is no setuid, setgid or sticky bit (a chown would clear those), no chmod is needed.
   */
  private createMode(file: PlannedFile): [mode: number, final: boolean] {
    const bits = permissionBits(file);
    if ((bits & 0o7000) === 0 && (bits & ~this.umask) === bits) return [bits, true];
    return [0o600, false];
  }

  private owner(parent: DirState): KnownOwner | undefined {
    return parent.created ? this.ownOwner : undefined;
  }

  private async restoreSpecial(entry: PlannedEntry): Promise<void> {
    const parent = await this.parent(entry);
    if (!parent) return;
    const state = await this.existing({ path: entry.path, location: entry.location, mtimeNs: entry.node.mtime.ns }, parent);
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
   * scheduled at once; before its directory is made, it waits in the directory's list; in one that
   * held something already, it is examined first.
   */
  private restoreFile(file: PlannedFile): void {
    const parent = this.dirs.stateOf(file.parent);
    if (parent?.fresh) return this.scheduleFile(file, parent, ABSENT);
    if (parent) return this.examine(file);
    const waiting = this.waiting.get(file.parent);
    if (waiting) return void waiting.push(file);
    this.waiting.set(file.parent, [file]);
    this.dirs.whenMade(file.parent, (state) => this.dirReady(file.parent, state));
  }

  /** Moves on the files that waited for a directory, now made (or failed: then they fail). */
  private dirReady(dir: PlannedDir, state: DirState | undefined): void {
    const files = this.waiting.get(dir) ?? [];
    this.waiting.delete(dir);
    for (const file of files) {
      if (!state) {
        this.directoryFailed(file);
        this.failed.add(file);
      } else if (state.fresh) this.scheduleFile(file, state, ABSENT);
      else this.examine(file);
    }
  }

  /** Queues a file whose path may hold something; a few examiners take the queue in order. */
  private examine(file: PlannedFile): void {
    this.toExamine.push(file);
    if (this.examiners >= EXAMINE_CONCURRENCY) return;
    this.examiners++;
    this.track(this.examineQueued());
  }

  private async examineQueued(): Promise<void> {
    try {
      while (this.examined < this.toExamine.length) {
        const file = this.toExamine[this.examined++]!;
        if (this.examined === this.toExamine.length) {
          this.toExamine = [];
          this.examined = 0;
        }
        await this.examineFile(file);
      }
    } finally {
      this.examiners--;
    }
  }

  private async examineFile(file: PlannedFile): Promise<void> {
    const parent = this.dirs.stateOf(file.parent)!;
    const blobs = this.blobsOf(file);
    const state = blobs && (await this.existing(file, parent, { size: file.size, blobs }));
    if (!blobs || !state) {
      this.failed.add(file);
      return;
    }
    this.scheduleFile(file, parent, state, blobs);
  }

  /** The blobs of a file; undefined (and reported) when the index lacks one. */
  private blobsOf(file: PlannedFile): FileBlob[] | undefined {
    const blobs = fileBlobs(this.repo, file.content);
    if (Array.isArray(blobs)) return blobs;
    this.error(file.location, `cannot restore content: data blob ${blobs.missing} is not in the index`);
    return undefined;
  }

  /** Acts on what is at the file's path: skips it, sets metadata only, or schedules the blobs it needs. */
  private scheduleFile(file: PlannedFile, parent: DirState, state: ExistingState, known?: FileBlob[]): void {
    const size = file.size;
    const blobs = known ?? this.blobsOf(file);
    if (!blobs) {
      this.failed.add(file);
      return;
    }
    if (state.kind === 'skip') {
      this.item('skipped', file, size);
      this.skipBytes(size);
      return;
    }
    if (state.kind === 'unchanged') {
      this.skipBytes(size);
      if (this.dryRun) return this.item('unchanged', file, size);
      // Only the metadata is set; the size is right already.
      const job = new FileJob(file, 'update', false, undefined);
      job.end = size;
      job.unchanged = true;
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
    if (this.dryRun) {
      this.counts.bytesRestored += size;
      this.onEvent({ type: 'bytes', bytes: size });
      return this.item(mode === 'create' ? 'restored' : 'updated', file, size);
    }
    if (this.options.verify) this.written.push(file);
    if (blobs.every((_, i) => skip?.[i])) return this.writer.start(this.newJob(file, mode, parent, skip));
    // The job is made when the first of its blobs is read: until then a file waits as its plan only.
    if (mode !== 'create') this.rewrites.set(file, { mode, inPlace: skip });
    this.content.add(file, blobs, skip);
  }

  /** The job of a file whose content is about to be written. */
  private jobOf(file: PlannedFile): FileJob {
    const rewrite = this.rewrites.get(file);
    this.rewrites.delete(file);
    return this.newJob(file, rewrite?.mode ?? 'create', this.dirs.stateOf(file.parent)!, rewrite?.inPlace);
  }

  private newJob(file: PlannedFile, mode: OpenMode, parent: DirState, inPlace: readonly boolean[] | undefined): FileJob {
    const sparse = this.options.sparse !== false && mode !== 'update';
    return new FileJob(file, mode, sparse, mode === 'create' ? this.owner(parent) : undefined, ...this.createMode(file), inPlace);
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
      if (!this.dryRun) await createHardLink(primary.path, entry.path, entry, this.ctx);
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
          await restorePathMetadata(dir.path, dir.metadata!, this.ctx, state.created ? this.ownOwner : undefined);
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
  const selection = new RestoreSelection(options);
  const entry = typeof snapshot === 'string' ? await findSnapshot(repo, snapshot, options.filter) : snapshot;
  // From the index on: what is live while it loads sets how far the heap may grow afterwards.
  const endHeapLimit = limitHeapGrowth();
  try {
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
        await walkRestore(repo, found.tree, pathBytes(targetPath), selection, run, { keepNames: options.delete === true });
      } finally {
        // Work already started for what the walk found must end before anything else happens.
        await run.finish();
      }
      if (options.signal?.aborted) {
        throw new HoldfastError('ERR_INTERRUPTED', `restore interrupted: ${run.interrupted} files were not restored (none was left incomplete)`);
      }
      return { snapshotId: entry.id, target: targetPath, dryRun: options.dryRun === true, counts: run.counts, errors: run.errors, durationMs: Date.now() - started };
    } finally {
      await Promise.all([helper.close(), workers.close()]);
    }
  } finally {
    endHeapLimit();
  }
}
