// Checks a repository's structure (index files, pack files and their headers, snapshots and every
// tree they reach) and, on request, reads pack data to verify every blob.

import { HoldfastError } from '../errors.js';
import { blobCount, decodeIndexFile } from '../format/index-file.js';
import { decodeSnapshot } from '../format/snapshot.js';
import { packSizeOf, type PackedBlob } from '../format/pack.js';
import { garbageBudget, releaseMemory } from '../repository/collect-garbage.js';
import type { BlobLocation } from '../repository/master-index.js';
import { forEachLimited } from '../concurrency.js';
import type { Repository } from '../repository/repository.js';
import { TreeLoader } from '../repository/tree-loader.js';
import { BlobSet } from './blob-set.js';
import { verifyPackData } from './pack-data.js';
import { type ReadDataSubset, selectPacks } from './read-data-subset.js';

export interface CheckOptions {
  /** Read every pack (true) or a subset of the packs, verifying every blob in them. */
  readonly readData?: boolean | ReadDataSubset;
}

export type CheckEvent =
  | { readonly type: 'phase'; readonly phase: 'index' | 'packs' | 'headers' | 'snapshots' | 'read-data'; readonly total: number }
  | { readonly type: 'progress'; readonly done: number; readonly total: number; readonly bytes?: number }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'hint'; readonly message: string };

export interface CheckResult {
  readonly errors: string[];
  readonly hints: string[];
  readonly indexFiles: number;
  readonly packs: number;
  readonly snapshots: number;
  readonly trees: number;
  readonly packsRead: number;
  readonly bytesRead: number;
}

/** Pack bytes read between two times check gives memory back. */
const RELEASE_EVERY = 64 * 1024 * 1024;

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

function sameEntry(a: PackedBlob, b: PackedBlob): boolean {
  return a.id === b.id && a.type === b.type && a.offset === b.offset && a.length === b.length && (a.uncompressedLength ?? 0) === (b.uncompressedLength ?? 0);
}

export async function checkRepository(repo: Repository, options: CheckOptions = {}, report: (e: CheckEvent) => void = () => undefined): Promise<CheckResult> {
  const errors: string[] = [];
  const hints: string[] = [];
  const error = (message: string) => {
    errors.push(message);
    report({ type: 'error', message });
  };
  const hint = (message: string) => {
    hints.push(message);
    report({ type: 'hint', message });
  };

  // 1. Index files: each must authenticate, match its name, and parse.
  const indexIds: string[] = [];
  for await (const f of repo.list('index')) indexIds.push(f.name);
  report({ type: 'phase', phase: 'index', total: indexIds.length });
  let done = 0;
  await forEachLimited(indexIds, 4, async (id) => {
    try {
      const doc = decodeIndexFile(await repo.loadUnpacked('index', id));
      if (doc.legacy) hint(`index ${id.slice(0, 8)} uses the old index format`);
      repo.index.reserve(repo.index.size + blobCount(doc));
      for (const p of doc.packs) {
        if (!repo.index.addPack(p.id, p.blobs)) hint(`pack ${p.id.slice(0, 8)} is listed in more than one index file`);
      }
    } catch (err) {
      error(`index ${id}: ${describe(err)}`);
    }
    report({ type: 'progress', done: ++done, total: indexIds.length });
  });
  // The decoded index files, and later the trees, leave much garbage behind, and a young
  // generation grown to hold them: V8 would keep both until memory runs short, and the peak is
  // what a check costs the machine.
  await releaseMemory();

  // 2. Pack files: every indexed pack exists with the size its index entries add up to. The
  // index's packs are gone through one at a time here and below: as objects, all of them would
  // take more memory than the index itself.
  const sizes = new Map<string, number>();
  for await (const f of repo.list('data')) sizes.set(f.name, f.size);
  report({ type: 'phase', phase: 'packs', total: repo.index.packCount });
  const indexed = new Set<string>();
  const present = new Set<string>();
  for (const { id: packId, blobs } of indexedPacks(repo)) {
    indexed.add(packId);
    const size = sizes.get(packId);
    if (size === undefined) error(`pack ${packId} does not exist`);
    else if (size !== packSizeOf(blobs)) error(`pack ${packId}: unexpected file size: got ${size}, expected ${packSizeOf(blobs)}`);
    else present.add(packId);
    const types = new Set(blobs.map((b) => b.type));
    if (types.size > 1) hint(`pack ${packId.slice(0, 8)} mixes data and tree blobs`);
  }
  for (const packId of sizes.keys()) if (!indexed.has(packId)) hint(`pack ${packId.slice(0, 8)} is not referenced in any index`);

  // 5 starts here, when asked: the workers that verify the packs' data would otherwise wait while
  // the main thread checks headers and trees.
  const data = options.readData ? new DataReading(repo, selectedPacks(indexed, sizes, options.readData), sizes, error, report) : undefined;
  let trees: number;
  let snapshotIds: string[];
  try {
    // 3. Pack headers: each existing pack's own header lists exactly what the index says.
    report({ type: 'phase', phase: 'headers', total: present.size });
    done = 0;
    await forEachLimited(indexedPacks(repo, present), 8, async ({ id: packId, blobs }) => {
      try {
        const header = await repo.readPackHeader(packId, sizes.get(packId));
        compareHeader(packId, header, blobs, error);
      } catch (err) {
        error(`pack ${packId}: ${describe(err)}`);
      }
      report({ type: 'progress', done: ++done, total: present.size });
    });

    // 4. Snapshots and every tree they reach: trees load and decode, data blobs are indexed.
    snapshotIds = [];
    for await (const f of repo.list('snapshots')) snapshotIds.push(f.name);
    report({ type: 'phase', phase: 'snapshots', total: snapshotIds.length });
    trees = await checkSnapshots(repo, snapshotIds, error, report);
  } catch (err) {
    await data?.finished.catch(() => undefined);
    throw err;
  }

  // 5. Pack contents, when asked: the whole file hashes to its name, every blob opens and verifies.
  data?.announce();
  await data?.finished;
  return { errors, hints, indexFiles: indexIds.length, packs: indexed.size, snapshots: snapshotIds.length, trees, packsRead: data?.packsRead ?? 0, bytesRead: data?.bytesRead ?? 0 };
}

/** The packs --read-data reads: every indexed pack that exists, or the subset asked for. */
function selectedPacks(indexed: ReadonlySet<string>, sizes: ReadonlyMap<string, number>, readData: true | ReadDataSubset): Set<string> {
  return new Set(selectPacks([...indexed].filter((id) => sizes.has(id)), sizes, readData === true ? undefined : readData));
}

/**
 * Reads and verifies packs from the moment it is made, while the headers and trees are still
 * checked. Its phase is reported when `announce` is called: what it finds before is held back
 * until then, so errors and progress come in the order of the phases.
 */
class DataReading {
  packsRead = 0;
  bytesRead = 0;
  readonly finished: Promise<void>;
  /** Errors found before the phase was announced. */
  private held: string[] | undefined = [];

  constructor(
    repo: Repository,
    private readonly selected: ReadonlySet<string>,
    sizes: ReadonlyMap<string, number>,
    private readonly error: (m: string) => void,
    private readonly report: (e: CheckEvent) => void,
  ) {
    this.finished = this.readAll(repo, sizes);
    // A failure is thrown where `finished` is awaited, after the other phases.
    this.finished.catch(() => undefined);
  }

  announce(): void {
    this.report({ type: 'phase', phase: 'read-data', total: this.selected.size });
    for (const message of this.held ?? []) this.error(message);
    this.held = undefined;
    if (this.packsRead > 0) this.progress();
  }

  private async readAll(repo: Repository, sizes: ReadonlyMap<string, number>): Promise<void> {
    const fail = (message: string) => (this.held ? this.held.push(message) : this.error(message));
    // Over a long read, the main thread's share (each pack's blobs, the pieces' promises) grows
    // the young generation back, and V8 would keep it.
    const release = garbageBudget(RELEASE_EVERY, 'release');
    // Each pack keeps the workers busy by itself; a second hides the latency of its reads.
    await forEachLimited(indexedPacks(repo, this.selected), 2, async ({ id: packId, blobs }) => {
      const n = await readPack(repo, packId, sizes.get(packId)!, blobs, fail);
      release(n);
      this.bytesRead += n;
      this.packsRead++;
      if (!this.held) this.progress();
    });
  }

  private progress(): void {
    this.report({ type: 'progress', done: this.packsRead, total: this.selected.size, bytes: this.bytesRead });
  }
}

/** The index's packs with their blobs sorted by offset, one at a time; only those in `only` when given. */
function* indexedPacks(repo: Repository, only?: ReadonlySet<string>): IterableIterator<{ id: string; blobs: BlobLocation[] }> {
  // A pack listed without blobs has nothing to check: it counts as not indexed.
  for (const pack of repo.index.packsOneByOne(only ? (id) => !only.has(id) : undefined)) if (pack.blobs.length > 0) yield pack;
}

/**
 * Walks the trees of every snapshot, each tree once; returns how many there are. The loader, and
 * the tree packs it keeps, are let go when the walk is done.
 */
async function checkSnapshots(repo: Repository, snapshotIds: readonly string[], error: (m: string) => void, report: (e: CheckEvent) => void): Promise<number> {
  const seen = new BlobSet();
  const trees = new TreeLoader(repo);
  let done = 0;
  for (const id of snapshotIds) {
    let root: string;
    try {
      root = decodeSnapshot(await repo.loadUnpacked('snapshots', id)).tree;
    } catch (err) {
      error(`snapshot ${id}: ${describe(err)}`);
      continue;
    }
    await checkTree(trees, repo.index, root, `snapshot ${id.slice(0, 8)}`, seen, error);
    report({ type: 'progress', done: ++done, total: snapshotIds.length });
  }
  return seen.size;
}

function compareHeader(packId: string, header: PackedBlob[], indexed: BlobLocation[], error: (m: string) => void): void {
  if (header.length !== indexed.length) {
    error(`pack ${packId}: header lists ${header.length} blobs, the index ${indexed.length}`);
    return;
  }
  header.forEach((h, i) => {
    if (!sameEntry(h, indexed[i]!)) error(`pack ${packId}: blob ${h.id} is at a different position in the header than in the index`);
  });
}

const validTypes = new Set(['file', 'dir', 'symlink', 'dev', 'chardev', 'fifo', 'socket']);

/** Trees loading at once while checking: each is a read and a decryption, mostly waiting. */
const TREE_LOADS = 16;
/** Trees visited between two turns of the event loop. */
const YIELD_EVERY = 16;

async function checkTree(trees: TreeLoader, index: Repository['index'], rootId: string, where: string, seen: BlobSet, error: (m: string) => void): Promise<void> {
  const pending: { id: string; path: string }[] = [{ id: rootId, path: '/' }];
  const visit = async (id: string, path: string): Promise<void> => {
    let nodes;
    try {
      nodes = await trees.load(id);
    } catch (err) {
      error(`${where}: tree ${id} at ${path}: ${describe(err)}`);
      return;
    }
    for (const node of nodes) {
      const name = node.name.toString('utf8');
      const at = path === '/' ? `/${name}` : `${path}/${name}`;
      if (node.name.length === 0) error(`${where}: tree ${id.slice(0, 8)} has a node with an empty name`);
      if (!validTypes.has(node.type)) error(`${where}: ${at}: invalid node type "${node.type}"`);
      if (node.type === 'file') {
        if (node.content === null) error(`${where}: ${at}: file has nil blob list`);
        for (const blob of node.content ?? []) {
          if (!index.has('data', blob)) error(`${where}: ${at}: data blob ${blob} not found in index`);
        }
      } else if (node.type === 'dir') {
        if (!node.subtree) error(`${where}: ${at}: dir node has no subtree`);
        else pending.push({ id: node.subtree, path: at });
      }
    }
  };
  const running = new Set<Promise<void>>();
  let visited = 0;
  while (pending.length > 0 || running.size > 0) {
    // Trees mostly come from packs loaded already, one promise after another: without a turn of
    // the event loop now and then, the data phase running meanwhile would wait for the whole walk.
    if (++visited % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    while (pending.length > 0 && running.size < TREE_LOADS) {
      const { id, path } = pending.pop()!;
      if (!seen.add('tree', id)) continue;
      const visiting: Promise<void> = visit(id, path).finally(() => running.delete(visiting));
      running.add(visiting);
    }
    if (running.size > 0) await Promise.race(running);
  }
}

/** Reads a pack of `size` bytes, verifying it and every blob in it; returns the bytes read. */
async function readPack(repo: Repository, packId: string, size: number, indexed: BlobLocation[], error: (m: string) => void): Promise<number> {
  const data = await verifyPackData(repo, packId, size, indexed);
  if ('readError' in data) {
    error(`pack ${packId}: ${describe(data.readError)}`);
    return 0;
  }
  let expected = 0;
  for (const b of indexed) {
    if (b.offset !== expected) error(`pack ${packId}: blobs are not contiguous at offset ${expected}`);
    expected = b.offset + b.length;
  }
  for (const problem of data.problems) error(`pack ${packId}: ${problem}`);
  return size;
}

export function checkFailed(result: CheckResult): HoldfastError | undefined {
  if (result.errors.length === 0) return undefined;
  return new HoldfastError('ERR_CORRUPT', `check found ${result.errors.length} error(s); see above`);
}
