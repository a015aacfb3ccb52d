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
import type { DirectoryRules, ExcludeRules } from '../fs/exclude-rules.js';
import { listDirectorySync } from '../fs/list-directory.js';
import { nodeFromStat } from '../fs/node-from-stat.js';
import { joinPath } from '../fs/paths.js';
import type { FsWarning } from '../fs/warning.js';
import type { Repository } from '../repository/repository.js';
import { TreeLoader } from '../repository/tree-loader.js';
import { type BackupCounters, newCounters } from './summary.js';
import { closeFd, lstatBig, openForReading, readSmallFileSync } from './file-io.js';
import type { TargetNode } from './targets.js';

export type ArchiveEvent =
  | { readonly type: 'file-start'; readonly path: string }
  | { readonly type: 'file-done'; readonly path: string; readonly size: number; readonly read: boolean }
  | { readonly type: 'read'; readonly bytes: number }
  | { readonly type: 'warning'; readonly path: string; readonly message: string };

export interface ArchiverOptions {
  /** Read every file, even those the parent snapshot says are unchanged. */
  readonly force?: boolean;
  readonly rules: ExcludeRules;
  /** Files of a chunk or more read at the same time (restic's --read-concurrency, default 2). */
  readonly readConcurrency?: number;
  /** Tells which files some process held open for writing while we read them. */
  readonly openFiles?: { wasOpenForWrite(device: bigint, inode: bigint): boolean } | undefined;
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

/** A node known once its work is done; null when the entry is left out. */
type Future = Pending<Node | null>;

type ParentEntries = Map<string, Node>;

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
  /** Where small files are read (synchronously, one at a time); saveBlob copies what it keeps. */
  private readonly smallFileBuffer = Buffer.allocUnsafeSlow(MIN_SIZE + 1);
  /** Content of hard-linked files already read in this run, by device and inode. */
  private readonly linked = new Map<string, { mtime: bigint; size: bigint; content: string[] }>();

  constructor(
    private readonly repo: Repository,
    private readonly options: ArchiverOptions,
  ) {
    this.chunkerSlots = new Semaphore(options.readConcurrency ?? 2);
    this.trees = new TreeLoader(repo);
  }

  /** Archives the targets; returns the root tree's id. */
  async run(root: TargetNode, parentTree: string | undefined): Promise<string> {
    const parent = parentTree ? await this.treeEntries(parentTree) : undefined;
    if (!root.target) return this.virtualTree(root, parent);
    // "." was given: the current directory's entries are the root's entries.
    const st = this.stat(root.path);
    if (!st?.isDirectory()) throw new HoldfastError('ERR_INVALID_ARGUMENT', `${display(root.path)} is not a directory`);
    const tree = await (await this.directory(root.path, st, undefined, parent)).done;
    if (tree === undefined) throw new HoldfastError('ERR_IO', `cannot read ${display(root.path)}`);
    return tree;
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
        futures.push(st ? await this.dispatch(child.path, child.name, st, parentNode, undefined) : finished(null));
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
   * directory — and returns the future of its node. For a directory this walks everything below
   * it before returning; for a file it waits only for a free file job.
   */
  private async dispatch(path: Buffer, name: Buffer, st: BigIntStats, parentNode: Node | undefined, dirRules: DirectoryRules | undefined): Promise<Future> {
    this.checkAborted();
    const { rules } = this.options;
    if (!rules.isEmpty && (dirRules ? dirRules.excludesStat(st) : await rules.excludesSource(path, st))) return finished(null);
    // restic 0.14 leaves sockets out of snapshots; so do we, so both make the same trees.
    if (st.isSocket()) return finished(null);
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
    const subtree = await this.directory(path, st, { dirRules, name }, await this.parentEntriesOf(parentNode));
    return pending(
      subtree.done.then((id) => {
        if (id === undefined) return null;
        node.subtree = id;
        this.countDirectory(node, parentNode);
        return node;
      }),
    );
  }

  private async fileJob(path: Buffer, name: Buffer, st: BigIntStats, parentNode: Node | undefined): Promise<Node | null> {
    let node: Node;
    try {
      node = await nodeFromStat(name, path, st, { warn: this.fsWarning, previous: parentNode });
    } catch (err) {
      this.warn(path, err);
      return null;
    }
    return this.archiveFile(path, st, node, parentNode);
  }

  /**
   * Walks a real directory: lists it, dispatches its entries in order, and returns the future of
   * its tree's id (undefined when it cannot be read). `within` is the directory's parent's rules
   * (absent for a source, whose rules start fresh).
   */
  private async directory(
    path: Buffer,
    st: BigIntStats,
    within: { dirRules: DirectoryRules | undefined; name: Buffer } | undefined,
    parent: ParentEntries | undefined,
  ): Promise<Pending<string | undefined>> {
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
    const futures: Future[] = [];
    for (let start = 0; start < kept.length; start += STAT_BATCH) {
      const batch = kept.slice(start, start + STAT_BATCH);
      const paths = batch.map((name) => joinPath(path, name));
      const stats = paths.map((p) => this.stat(p));
      for (let i = 0; i < batch.length; i++) {
        const entrySt = stats[i];
        if (!entrySt) continue;
        futures.push(await this.dispatch(paths[i]!, batch[i]!, entrySt, parent?.get(nameKey(batch[i]!)), dirRules));
      }
    }
    return pending(
      Promise.all(futures.map((f) => f.done)).then(async (nodes) => {
        if (parent) await this.countDeleted(parent, nodes);
        return this.saveTree(nodes);
      }),
    );
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

  private async archiveFile(path: Buffer, st: BigIntStats, node: Node, parentNode: Node | undefined): Promise<Node | null> {
    const shown = display(path);
    this.counters.totalFilesProcessed++;
    this.counters.totalBytesProcessed += Number(st.size);
    if (!this.options.force && unchanged(parentNode, node) && parentNode!.content!.every((id) => this.repo.hasBlob('data', id))) {
      node.content = parentNode!.content;
      this.counters.filesUnmodified++;
      this.emit({ type: 'file-done', path: shown, size: Number(st.size), read: false });
      return node;
    }
    const linkKey = st.nlink > 1n ? `${st.dev}:${st.ino}` : undefined;
    const known = linkKey ? this.linked.get(linkKey) : undefined;
    if (known && known.mtime === st.mtimeNs && known.size === st.size) {
      node.content = known.content;
    } else {
      this.emit({ type: 'file-start', path: shown });
      const read = await this.readFile(path, st);
      if (!read) return null;
      node.content = read.content;
      node.size = BigInt(read.bytes);
      if (linkKey) this.linked.set(linkKey, { mtime: st.mtimeNs, size: st.size, content: read.content });
      if (this.options.openFiles?.wasOpenForWrite(st.dev, st.ino)) this.openForWrite.push(shown);
    }
    if (parentNode?.type === 'file') this.counters.filesChanged++;
    else this.counters.filesNew++;
    this.emit({ type: 'file-done', path: shown, size: Number(node.size), read: true });
    return node;
  }

  /** Reads, chunks and saves a file's content; null (with a warning) when it cannot be read. */
  private async readFile(path: Buffer, st: BigIntStats): Promise<{ content: string[]; bytes: number } | null> {
    const pending: Promise<string>[] = [];
    let bytes = 0;
    /** Must run without an await between reading `chunk` and this call: saveData copies it. */
    const saveNow = (chunk: Buffer) => {
      bytes += chunk.length;
      this.counters.bytesRead += chunk.length;
      this.emit({ type: 'read', bytes: chunk.length });
      const saved = this.saveData(chunk);
      // Observed below with Promise.all; until then a failure must not count as unhandled.
      saved.catch(() => undefined);
      pending.push(saved);
    };
    try {
      if (st.size < BigInt(MIN_SIZE)) {
        await this.repo.ready();
        // One read buffer serves every small file: it is read and copied with no await between.
        const small = readSmallFileSync(path, Number(st.size), this.smallFileBuffer);
        if (small) {
          if (small.length > 0) saveNow(small);
          return { content: await Promise.all(pending), bytes };
        }
      }
      await this.readChunked(path, async (chunk) => {
        // A chunk is a view into the chunker, valid until the next one: waiting here is safe.
        await this.repo.ready();
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
    if (!r.known) {
      this.counters.dataBlobs++;
      this.counters.dataAdded += length;
      this.counters.dataAddedPacked += r.storedBytes;
    }
    return r.id;
  }
}
