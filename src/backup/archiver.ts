// Walks the source directories and turns them into trees and data blobs: compares each file with
// the parent snapshot's node and reads only new and changed files; saves trees bottom-up.
//
// The walk is depth-first and sequential; files are handed to a bounded number of file jobs, and
// each directory's tree is a future that completes when its entries have. Memory is then bounded
// by the jobs in flight, not by the shape of the tree, however wide or deep.

import type { BigIntStats } from 'node:fs';
import { FileChunker } from '../chunker/chunk-file.js';
import { MIN_SIZE } from '../chunker/params.js';
import { Semaphore } from '../concurrency.js';
import { HoldfastError, messageOf } from '../errors.js';
import { hashId } from '../format/id.js';
import type { Node } from '../format/node.js';
import { TreeBuilder } from '../format/tree.js';
import { accountNames } from '../fs/account-names.js';
import type { DirectoryRules, ExcludeRules } from '../fs/exclude-rules.js';
import { listDirectorySync } from '../fs/list-directory.js';
import { nodeFromStat } from '../fs/node-from-stat.js';
import { joinPath } from '../fs/paths.js';
import type { FsWarning } from '../fs/warning.js';
import type { Repository, SaveResult } from '../repository/repository.js';
import { TreeLoader } from '../repository/tree-loader.js';
import { type CachedDir, type DirCache, pathKey } from './dir-cache.js';
import { EntryFields, Fingerprints } from './dir-fingerprint.js';
import type { Survey } from './survey.js';
import { type BackupCounters, newCounters } from './summary.js';
import { closeFd, lstatBig, openForReading } from './file-io.js';
import type { TargetNode } from './targets.js';

export type ArchiveEvent =
  | { readonly type: 'file-start'; readonly path: string }
  | { readonly type: 'file-done'; readonly path: string; readonly size: number; readonly read: boolean }
  | { readonly type: 'read'; readonly bytes: number }
  /** A directory whose tree was reused unopened: its files count as done. */
  | { readonly type: 'unchanged-dir'; readonly path: string; readonly files: number; readonly bytes: number }
  | { readonly type: 'warning'; readonly path: string; readonly message: string };

export interface ArchiverOptions {
  /** Read every file, even those the parent snapshot says are unchanged. */
  readonly force?: boolean;
  readonly rules: ExcludeRules;
  /**
   * Files of a chunk or more read at the same time (restic's --read-concurrency). Default 1:
   * smaller files are read on the crypto workers meanwhile, and the next block of a large one is
   * always in flight while this one is scanned; a second large file at once added a chunker's
   * 10 MiB and made a first backup of the Linux tree no faster (six interleaved pairs: 0.05-0.13 s
   * slower).
   */
  readonly readConcurrency?: number;
  /** Tells which files some process held open for writing while we read them. */
  readonly openFiles?: { wasOpenForWrite(device: bigint, inode: bigint): boolean } | undefined;
  /**
   * The parent snapshot's directory cache and this run's survey of the sources: a directory whose
   * fingerprint is the cached one gets the cached tree without being walked.
   */
  readonly unchanged?: { readonly cache: DirCache; readonly survey: Survey } | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onEvent?: (e: ArchiveEvent) => void;
}

/**
 * Files being processed (read, sealed, waiting for their blobs) at the same time. Small files
 * wait for their blobs in batches on the crypto workers: with too few, the walk stops until a
 * batch comes back, and the walk and the workers take turns instead of running at once (64 made
 * a first backup of the Linux tree 1.3 times slower than 256).
 */
const FILE_JOBS = 256;
/** Entries of a directory stat'ed before their work is dispatched. */
const STAT_BATCH = 32;

/**
 * Work that was started and will finish later. Boxed, because a promise of a promise would be
 * flattened: awaiting the start must not mean awaiting the end. A failure is reported where
 * `done` is awaited, not as an unhandled rejection meanwhile.
 */
interface Pending<T> {
  readonly done: Promise<T>;
}

function pending<T>(done: Promise<T>): Pending<T> {
  done.catch(() => undefined);
  return { done };
}

const finished = <T>(value: T): Pending<T> => ({ done: Promise.resolve(value) });

/** A node known once its work is done; null when the entry could not be read. */
type Future = Pending<Node | null>;

/** What a directory cache records of a directory; no fingerprint when something in it could not be read. */
type DirSummary = Omit<CachedDir, 'fingerprint' | 'tree'> & { readonly fingerprint: Buffer | undefined };

interface DirDone {
  readonly tree: string;
  readonly summary: DirSummary;
}

type ParentEntries = Map<string, Node>;

/** A directory entry being archived. */
interface Entry {
  readonly name: Buffer;
  readonly future: Future;
}

const nameKey = (name: Buffer) => name.toString('latin1');
const display = (path: Buffer) => path.toString('utf8');

/** restic's rule: a file is unchanged when type, mtime, ctime, inode and size all match. */
function unchanged(parent: Node | undefined, node: Node): boolean {
  return (
    parent !== undefined &&
    parent.type === 'file' &&
    parent.content !== null &&
    parent.mtime.ns === node.mtime.ns &&
    parent.ctime.ns === node.ctime.ns &&
    parent.inode === node.inode &&
    parent.size === node.size
  );
}

export class Archiver {
  readonly counters: BackupCounters = newCounters();
  /** Files that were open for writing by another process while this run read them. */
  readonly openForWrite: string[] = [];
  private readonly fileJobs = new Semaphore(FILE_JOBS);
  private readonly trees: TreeLoader;
  /** Files read through the chunker at once: each holds up to a whole 8 MiB chunk in memory. */
  private readonly chunkerSlots: Semaphore;
  private readonly chunkers: FileChunker[] = [];
  /** Content of hard-linked files already read in this run, by device and inode. */
  private readonly linked = new Map<string, { mtime: bigint; size: bigint; content: string[] }>();
  /** The directory nodes made in this run, with what a directory cache records of them. */
  private readonly summaries = new WeakMap<Node, DirSummary>();
  /** The directories walked cleanly or reused: the cache for this run's snapshot. */
  private readonly cachedDirs = new Map<string, CachedDir>();
  /** Directories whose trees were reused; the cache entries below them carry over. */
  private readonly reusedDirs = new Set<string>();
  /** Directories with an entry the fs layer warned about: kept, but not cached. */
  private readonly warnedDirs = new Set<string>();
  private fingerprints: Fingerprints | undefined;

  constructor(
    private readonly repo: Repository,
    private readonly options: ArchiverOptions,
  ) {
    this.chunkerSlots = new Semaphore(options.readConcurrency ?? 1);
    this.trees = new TreeLoader(repo);
  }

  /** Archives the targets; returns the root tree's id. */
  async run(root: TargetNode, parentTree: string | undefined): Promise<string> {
    this.fingerprints = new Fingerprints(await accountNames());
    const parent = parentTree ? await this.treeEntries(parentTree) : undefined;
    if (!root.target) return this.virtualTree(root, parent);
    // "." was given: the current directory's entries are the root's entries.
    const st = this.stat(root.path);
    if (!st?.isDirectory()) throw new HoldfastError('ERR_INVALID_ARGUMENT', `${display(root.path)} is not a directory`);
    const done = await (await this.directory(root.path, st, undefined, parent)).done;
    if (done === undefined) throw new HoldfastError('ERR_IO', `cannot read ${display(root.path)}`);
    return done.tree;
  }

  /** The directory cache for the snapshot of this run: what was walked cleanly, and what was reused with everything below it. */
  directoryCache(): Map<string, CachedDir> {
    const previous = this.options.unchanged?.cache.dirs;
    if (previous && this.reusedDirs.size > 0) {
      for (const [key, dir] of previous) if (!this.cachedDirs.has(key) && this.isBelowReused(key)) this.cachedDirs.set(key, dir);
    }
    return this.cachedDirs;
  }

  private isBelowReused(key: string): boolean {
    for (let i = key.lastIndexOf('/'); i > 0; i = key.lastIndexOf('/', i - 1)) if (this.reusedDirs.has(key.slice(0, i))) return true;
    return false;
  }

  private emit(e: ArchiveEvent): void {
    this.options.onEvent?.(e);
  }

  private warn(path: Buffer, err: unknown): void {
    this.reportUnreadable(path, messageOf(err));
  }

  /** An entry left out because it could not be read: the snapshot is incomplete (exit code 3). */
  reportUnreadable(path: Buffer, message: string): void {
    this.counters.errors++;
    this.emit({ type: 'warning', path: display(path), message });
  }

  /** Partial reads the fs layer reports (an unreadable xattr): shown, but the entry is kept. */
  private readonly fsWarning = (w: FsWarning): void => {
    this.warnedDirs.add(pathKey(w.path.subarray(0, w.path.lastIndexOf(0x2f))));
    this.emit({ type: 'warning', path: display(w.path), message: w.message });
  };

  private checkAborted(): void {
    if (this.options.signal?.aborted) throw new HoldfastError('ERR_INTERRUPTED', 'backup interrupted');
  }

  private stat(path: Buffer): BigIntStats | undefined {
    try {
      return lstatBig(path);
    } catch (err) {
      this.warn(path, err);
      return undefined;
    }
  }

  private async treeEntries(treeId: string): Promise<ParentEntries> {
    const entries: ParentEntries = new Map();
    for (const node of await this.trees.load(treeId)) entries.set(nameKey(node.name), node);
    return entries;
  }

  private async parentEntriesOf(parentNode: Node | undefined): Promise<ParentEntries | undefined> {
    if (parentNode?.type !== 'dir' || !parentNode.subtree) return undefined;
    try {
      return await this.treeEntries(parentNode.subtree);
    } catch {
      // A damaged parent only costs reading everything below it again.
      return undefined;
    }
  }

  /**
   * A directory that only leads to given paths: its own metadata, and only the given children.
   * Returns its tree's id once everything below it is saved.
   */
  private async virtualTree(node: TargetNode, parent: ParentEntries | undefined): Promise<string> {
    const children = [...node.children.values()].sort((a, b) => Buffer.compare(a.name, b.name));
    const futures: Future[] = [];
    for (const child of children) {
      const parentNode = parent?.get(nameKey(child.name));
      if (child.target) {
        const st = this.stat(child.path);
        const future = st && (await this.dispatch(child.path, child.name, st, parentNode, undefined));
        if (future) futures.push(future);
        continue;
      }
      const st = this.stat(child.path);
      if (!st) continue;
      if (!st.isDirectory()) throw new HoldfastError('ERR_INVALID_ARGUMENT', `${display(child.path)} is not a directory`);
      const dirNode = await nodeFromStat(child.name, child.path, st, { warn: this.fsWarning, previous: parentNode });
      const subtree = this.virtualTree(child, await this.parentEntriesOf(parentNode));
      futures.push(
        pending(
          subtree.then((id) => {
            dirNode.subtree = id;
            this.countDirectory(dirNode, parentNode);
            return dirNode;
          }),
        ),
      );
    }
    return this.saveTree(await Promise.all(futures.map((f) => f.done)));
  }

  /**
   * Starts one entry — a source given on the command line (no `dirRules`) or an entry of a
   * directory — and returns the future of its node, or undefined when the rules leave it out.
   * For a directory this walks everything below it before returning; for a file it waits only
   * for a free file job.
   */
  private async dispatch(path: Buffer, name: Buffer, st: BigIntStats, parentNode: Node | undefined, dirRules: DirectoryRules | undefined): Promise<Future | undefined> {
    this.checkAborted();
    const { rules } = this.options;
    if (!rules.isEmpty && (dirRules ? dirRules.excludesStat(st) : await rules.excludesSource(path, st))) return undefined;
    // restic 0.14 leaves sockets out of snapshots; so do we, so both make the same trees.
    if (st.isSocket()) return undefined;
    if (st.isFile()) {
      await this.fileJobs.acquire();
      return pending(this.fileJob(path, name, st, parentNode).finally(() => this.fileJobs.release()));
    }
    let node: Node;
    try {
      node = await nodeFromStat(name, path, st, { warn: this.fsWarning, previous: parentNode });
    } catch (err) {
      this.warn(path, err);
      return finished(null);
    }
    if (node.type !== 'dir') return finished(node);
    if (this.reuseUnchanged(path, node, parentNode)) return finished(node);
    const subtree = await this.directory(path, st, { dirRules, name }, await this.parentEntriesOf(parentNode));
    return pending(
      subtree.done.then((done) => {
        if (done === undefined) return null;
        node.subtree = done.tree;
        this.summaries.set(node, done.summary);
        this.countDirectory(node, parentNode);
        return node;
      }),
    );
  }

  /**
   * Gives a directory the parent snapshot's tree when the survey found it exactly as the cache
   * recorded it: nothing below it is listed, compared or encoded again.
   */
  private reuseUnchanged(path: Buffer, node: Node, parentNode: Node | undefined): boolean {
    const unchanged = this.options.unchanged;
    if (!unchanged || this.options.force || parentNode?.type !== 'dir') return false;
    const key = pathKey(path);
    const fingerprint = unchanged.survey.fingerprints.get(key);
    const cached = unchanged.cache.dirs.get(key);
    if (!fingerprint || !cached || cached.tree !== parentNode.subtree || !fingerprint.equals(cached.fingerprint)) return false;
    node.subtree = cached.tree;
    this.summaries.set(node, cached);
    this.cachedDirs.set(key, cached);
    this.reusedDirs.add(key);
    this.countDirectory(node, parentNode);
    this.counters.dirsUnmodified += cached.dirs;
    this.counters.dirsReused += 1 + cached.dirs;
    this.counters.filesUnmodified += cached.files;
    this.counters.totalFilesProcessed += cached.files;
    this.counters.totalBytesProcessed += cached.bytes;
    this.emit({ type: 'unchanged-dir', path: display(path), files: cached.files, bytes: cached.bytes });
    return true;
  }

  private async fileJob(path: Buffer, name: Buffer, st: BigIntStats, parentNode: Node | undefined): Promise<Node | null> {
    let node: Node;
    try {
      node = await nodeFromStat(name, path, st, { warn: this.fsWarning, previous: parentNode });
    } catch (err) {
      this.warn(path, err);
      return null;
    }
    // From here on the node has what the lstat said: a file waiting for its blobs keeps less.
    return this.archiveFile(path, node, parentNode);
  }

  /**
   * Walks a real directory: lists it, dispatches its entries in order, and returns the future of
   * its tree's id and summary (undefined when it cannot be read). `within` is the directory's
   * parent's rules (absent for a source, whose rules start fresh).
   */
  private async directory(
    path: Buffer,
    st: BigIntStats,
    within: { dirRules: DirectoryRules | undefined; name: Buffer } | undefined,
    parent: ParentEntries | undefined,
  ): Promise<Pending<DirDone | undefined>> {
    let names: Buffer[];
    try {
      names = listDirectorySync(path);
    } catch (err) {
      this.warn(path, err);
      return finished(undefined);
    }
    const { rules } = this.options;
    const dirRules = within?.dirRules ? await within.dirRules.subdirectory(within.name, st, names) : await rules.sourceDirectory(path, st, names);
    const kept = rules.isEmpty ? names : names.filter((name) => !dirRules.excludesName(name));
    if (parent) this.prefetchSubtrees(parent, kept);
    const entries: Entry[] = [];
    /** The lstat fields of `entries`, for the fingerprint: the stats themselves are let go. */
    const fields = new EntryFields();
    let complete = true;
    for (let start = 0; start < kept.length; start += STAT_BATCH) {
      const batch = kept.slice(start, start + STAT_BATCH);
      const paths = batch.map((name) => joinPath(path, name));
      const stats = paths.map((p) => this.stat(p));
      for (let i = 0; i < batch.length; i++) {
        const entrySt = stats[i];
        if (!entrySt) {
          complete = false;
          continue;
        }
        const future = await this.dispatch(paths[i]!, batch[i]!, entrySt, parent?.get(nameKey(batch[i]!)), dirRules);
        if (!future) continue;
        entries.push({ name: batch[i]!, future });
        fields.push(entrySt);
      }
    }
    return pending(
      Promise.all(entries.map((e) => e.future.done)).then(async (nodes) => {
        if (parent) await this.countDeleted(parent, nodes);
        const tree = await this.saveTree(nodes);
        const summary = this.summarize(path, entries, fields, nodes, complete);
        if (summary.fingerprint) this.cachedDirs.set(pathKey(path), { ...summary, fingerprint: summary.fingerprint, tree });
        return { tree, summary };
      }),
    );
  }

  /** Counts what is below a walked directory; its fingerprint only when everything in it was read without a warning. */
  private summarize(path: Buffer, entries: readonly Entry[], fields: EntryFields, nodes: readonly (Node | null)[], complete: boolean): DirSummary {
    const builder = this.fingerprints!.builder();
    let files = 0;
    let dirs = 0;
    let bytes = 0;
    complete &&= !this.warnedDirs.has(pathKey(path));
    for (let i = 0; i < entries.length; i++) {
      const { name } = entries[i]!;
      const node = nodes[i];
      if (!node) {
        complete = false;
        continue;
      }
      let child: Buffer | undefined;
      if (node.type === 'dir') {
        const below = this.summaries.get(node);
        child = below?.fingerprint;
        if (!below || !child) complete = false;
        files += below?.files ?? 0;
        dirs += 1 + (below?.dirs ?? 0);
        bytes += below?.bytes ?? 0;
      } else if (node.type === 'file') {
        files++;
        bytes += fields.size(i);
      }
      if (complete) builder.addFields(name, fields, i, child);
    }
    return { fingerprint: complete ? builder.finish() : undefined, files, dirs, bytes };
  }

  /** Starts loading the parent's trees of the subdirectories the walk is about to enter. */
  private prefetchSubtrees(parent: ParentEntries, names: readonly Buffer[]): void {
    const ids: string[] = [];
    for (const name of names) {
      const old = parent.get(nameKey(name));
      if (old?.type === 'dir' && old.subtree) ids.push(old.subtree);
    }
    this.trees.prefetch(ids);
  }

  private countDirectory(node: Node, parentNode: Node | undefined): void {
    if (parentNode?.type !== 'dir') this.counters.dirsNew++;
    else if (parentNode.subtree === node.subtree) this.counters.dirsUnmodified++;
    else this.counters.dirsChanged++;
  }

  /** Entries of the parent's directory that are gone now; a gone directory counts with its contents. */
  private async countDeleted(parent: ParentEntries, present: readonly (Node | null)[]): Promise<void> {
    const kept = new Set(present.filter((n): n is Node => n !== null).map((n) => nameKey(n.name)));
    for (const [key, old] of parent) {
      if (kept.has(key)) continue;
      if (old.type !== 'dir') {
        this.counters.filesDeleted++;
        continue;
      }
      this.counters.dirsDeleted++;
      const below = await this.parentEntriesOf(old);
      if (below) await this.countDeleted(below, []);
    }
  }

  private async saveTree(nodes: readonly (Node | null)[]): Promise<string> {
    const builder = new TreeBuilder();
    for (const n of nodes) if (n) builder.add(n);
    const bytes = builder.finish();
    const result = await this.repo.saveBlob('tree', bytes, hashId(bytes));
    if (!result.known) {
      this.counters.treeBlobs++;
      this.counters.dataAdded += bytes.length;
      this.counters.dataAddedPacked += result.storedBytes;
    }
    return result.id;
  }

  /** Archives a regular file whose node was just made from its lstat. */
  private async archiveFile(path: Buffer, node: Node, parentNode: Node | undefined): Promise<Node | null> {
    const shown = display(path);
    const { size, links, deviceId, inode } = node;
    const mtime = node.mtime.ns;
    this.counters.totalFilesProcessed++;
    this.counters.totalBytesProcessed += Number(size);
    if (!this.options.force && unchanged(parentNode, node) && parentNode!.content!.every((id) => this.repo.hasBlob('data', id))) {
      node.content = parentNode!.content;
      this.counters.filesUnmodified++;
      this.emit({ type: 'file-done', path: shown, size: Number(size), read: false });
      return node;
    }
    const linkKey = links > 1n ? `${deviceId}:${inode}` : undefined;
    const known = linkKey ? this.linked.get(linkKey) : undefined;
    if (known && known.mtime === mtime && known.size === size) {
      node.content = known.content;
    } else {
      this.emit({ type: 'file-start', path: shown });
      const read = await this.readFile(path, Number(size));
      if (!read) return null;
      node.content = read.content;
      node.size = BigInt(read.bytes);
      if (linkKey) this.linked.set(linkKey, { mtime, size, content: read.content });
      if (this.options.openFiles?.wasOpenForWrite(deviceId, inode)) this.openForWrite.push(shown);
    }
    if (parentNode?.type === 'file') this.counters.filesChanged++;
    else this.counters.filesNew++;
    this.emit({ type: 'file-done', path: shown, size: Number(node.size), read: true });
    return node;
  }

  /** Reads, chunks and saves a file's content; null (with a warning) when it cannot be read. */
  private async readFile(path: Buffer, size: number): Promise<{ content: string[]; bytes: number } | null> {
    const pending: Promise<string>[] = [];
    let bytes = 0;
    /** Must run without an await between reading `chunk` and this call: saveData copies it. */
    const saveNow = (chunk: Buffer) => {
      bytes += chunk.length;
      this.countRead(chunk.length);
      const saved = this.saveData(chunk);
      // Observed below with Promise.all; until then a failure must not count as unhandled.
      saved.catch(() => undefined);
      pending.push(saved);
    };
    try {
      if (size < MIN_SIZE) {
        const room = this.repo.ready();
        if (room) await room;
        const small = await this.repo.saveSmallFile(path, size);
        if (small !== 'grown') {
          this.countRead(small.read);
          if (!small.saved) return { content: [], bytes: small.read };
          this.countSaved(small.read, small.saved);
          return { content: [small.saved.id], bytes: small.read };
        }
      }
      await this.readChunked(path, async (chunk) => {
        // A chunk is a view into the chunker, valid until the next one: waiting here is safe.
        const room = this.repo.ready();
        if (room) await room;
        saveNow(chunk);
      });
    } catch (err) {
      // The file's own read errors are warnings; the repository's (a failed upload) end the run.
      if (err instanceof HoldfastError) throw err;
      this.warn(path, err);
      return null;
    }
    return { content: await Promise.all(pending), bytes };
  }

  /** A file of a chunk or more: read asynchronously through the chunker, two files at a time. */
  private async readChunked(path: Buffer, save: (chunk: Buffer) => Promise<void>): Promise<void> {
    await this.chunkerSlots.acquire();
    let fd: number | undefined;
    const chunker = this.chunkers.pop() ?? new FileChunker(this.repo.config.chunkerPolynomial, { views: true });
    try {
      fd = await openForReading(path);
      for await (const chunk of chunker.chunks(fd)) {
        this.checkAborted();
        await save(chunk);
      }
    } finally {
      if (fd !== undefined) await closeFd(fd);
      this.chunkers.push(chunker);
      this.chunkerSlots.release();
    }
  }

  private async saveData(chunk: Buffer): Promise<string> {
    const length = chunk.byteLength;
    const r = await this.repo.saveBlob('data', chunk);
    this.countSaved(length, r);
    return r.id;
  }

  private countRead(bytes: number): void {
    this.counters.bytesRead += bytes;
    this.emit({ type: 'read', bytes });
  }

  private countSaved(length: number, r: SaveResult): void {
    if (r.known) return;
    this.counters.dataBlobs++;
    this.counters.dataAdded += length;
    this.counters.dataAddedPacked += r.storedBytes;
  }
}
