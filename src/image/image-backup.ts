// One image backup from start to commit: open the source, find the parent image, map what the file
// systems use, choose the blocks to read, store the new ones, then the block directory, tree, snapshot.

import { hostname as osHostname, userInfo } from 'node:os';
import { invalidArgument } from '../errors.js';
import { goTimeFromDate } from '../format/go-json.js';
import { hashId } from '../format/id.js';
import type { Snapshot } from '../format/snapshot.js';
import type { Repository } from '../repository/repository.js';
import { findSnapshot, saveSnapshot } from '../repository/snapshots.js';
import { type AllocationMap, detectAllocation, usedBlocks } from './allocation/index.js';
import { BlockBits } from './block-bits.js';
import { BlockDirectory, checkBlockSize, type GenerationMode } from './block-directory.js';
import { encodeBlockDirectory } from './block-directory-codec.js';
import { readChangeList } from './change-list.js';
import { type ImageSource, isNbdUri, openImageSource } from './image-source.js';
import { checkImageName, findImageParent, imagePath, type ImageSnapshot, loadImageSnapshot } from './image-snapshots.js';
import { encodeImageTree } from './image-tree.js';
import { runLimited } from './run-limited.js';
import { zeroBlockId, zeros } from './zero-blocks.js';

const programVersion = 'holdfast 0.1.0';
export const DEFAULT_BLOCK_SIZE = 1 << 20;
/**
 * The image's content list has 67 bytes of tree JSON per block and is read back as one string:
 * 4 Mi blocks (4 TiB in 1 MiB blocks) keep it far below V8's string limit.
 */
const MAX_BLOCKS = 1 << 22;
const DEFAULT_SAMPLES = 8;
const DEFAULT_BLOCKS_IN_FLIGHT = 16;
const DEFAULT_CHECKPOINT_MS = 5 * 60 * 1000;

export interface ImageBackupOptions {
  /** A raw image file, a block device, or an NBD URI. */
  readonly source: string;
  /** The image's name in the snapshot (default: the source's base name or NBD export name). */
  readonly name?: string;
  /** Default: the parent's, else 1 MiB (larger for volumes above 4 TiB). */
  readonly blockSize?: number;
  /** Read only the blocks this qemu dirty bitmap marks (NBD sources). */
  readonly dirtyBitmap?: string;
  /** Read only the blocks this change list (a file, see docs/images.md) names. */
  readonly changedBlocks?: string;
  readonly hostname?: string;
  readonly tags?: readonly string[];
  /** Snapshot id (or prefix) of the parent image instead of the latest of the same host and name. */
  readonly parent?: string;
  readonly dryRun?: boolean;
  readonly time?: Date;
  /**
   * Blocks outside the dirty bitmap or change list that are read anyway and compared with the
   * parent: a mismatch means the tracker missed writes, and the run falls back to checksum mode.
   */
  readonly verifySamples?: number;
  readonly blocksInFlight?: number;
  readonly checkpointEvery?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: ImageBackupEvent) => void;
}

export type ImageBackupEvent =
  | {
      readonly type: 'start';
      readonly name: string;
      readonly source: string;
      readonly volumeSize: number;
      readonly blockSize: number;
      readonly blockCount: number;
      readonly parent?: { readonly id: string; readonly generation: number } | undefined;
      readonly mode: GenerationMode;
      readonly adoptedPacks: number;
      readonly adoptedBytes: number;
    }
  | { readonly type: 'plan'; readonly layout: string; readonly usedBytes: number; readonly toRead: number; readonly bytesToRead: number; readonly mode: GenerationMode }
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'block'; readonly index: number; readonly bytes: number }
  | { readonly type: 'checkpoint'; readonly indexFiles: number };

export interface ImageBlockCounts {
  total: number;
  /** Unused by the file systems: not read, restored as zeros. */
  unused: number;
  /** Read from the source (samples included). */
  read: number;
  /** Read only to check the dirty bitmap or change list. */
  sampled: number;
  /** Taken from the parent without being read. */
  reused: number;
  /** Whose content differs from the parent: they carry this generation's number. */
  changed: number;
  /** Whose content was new to the repository and was stored. */
  stored: number;
  /** Used, but all zeros. */
  zero: number;
}

export interface ImageByteCounts {
  /** Data read from the source for blocks. */
  read: number;
  /** File system metadata read to find the unused blocks. */
  metadata: number;
  /** Plaintext bytes of the blobs added to the repository (blocks, directory, tree). */
  added: number;
  /** The same as stored in packs (compressed and encrypted). */
  stored: number;
}

export interface ImageBackupResult {
  readonly snapshotId: string | undefined;
  readonly snapshot: Snapshot;
  readonly name: string;
  readonly source: string;
  readonly volumeSize: number;
  readonly blockSize: number;
  readonly generation: number;
  /** The mode that ran: checksum when a dirty bitmap or change list could not be trusted. */
  readonly mode: GenerationMode;
  readonly parent: { readonly id: string; readonly generation: number } | undefined;
  readonly layout: string;
  readonly blocks: ImageBlockCounts;
  readonly bytes: ImageByteCounts;
  readonly warnings: readonly string[];
  readonly adoptedPacks: number;
  readonly durationMs: number;
}

/** 1 MiB, or the smallest power of two that keeps a very large volume within MAX_BLOCKS. */
export function defaultBlockSize(volumeSize: number): number {
  let size = DEFAULT_BLOCK_SIZE;
  while (Math.ceil(volumeSize / size) > MAX_BLOCKS) size *= 2;
  return size;
}

function currentUser(): { username: string; uid: number; gid: number } {
  let username = '';
  try {
    username = userInfo().username;
  } catch {
    // Without a passwd entry the snapshot has no user name, as with restic.
  }
  return { username, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
}

/** "ext4 on disk", "gpt: fat32 on partition 1, ext4 on partition 2". */
function describeLayout(map: AllocationMap): string {
  const volumes = map.layout.flatMap((p) => (p.kind === 'volume' ? [`${p.fs === 'unknown' ? 'unknown file system' : p.fs} on ${p.name}`] : []));
  const table = map.layout.find((p) => p.kind === 'table' && (p.table === 'gpt' || p.table === 'mbr'));
  const prefix = table?.kind === 'table' ? `${table.table}: ` : '';
  return prefix + (volumes.length > 0 ? volumes.join(', ') : 'no file system');
}

/** Writes index checkpoints on a timer, one at a time, so a killed run resumes cheaply. */
function startCheckpoints(repo: Repository, every: number, onDone: (files: number) => void): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(async () => {
      const files = await repo.writeIndex().catch(() => []);
      if (files.length > 0) onDone(files.length);
    });
  }, every);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

function* members(set: BlockBits): Generator<number> {
  for (let i = 0; i < set.count; i++) if (set.has(i)) yield i;
}

async function changedSet(source: ImageSource, options: ImageBackupOptions, blockSize: number, count: number): Promise<BlockBits> {
  if (options.changedBlocks !== undefined) return BlockBits.fromExtents(await readChangeList(options.changedBlocks, source.size), blockSize, count);
  const set = new BlockBits(count);
  for await (const e of source.dirtyExtents!()) set.addRange(Math.floor(e.offset / blockSize), Math.ceil((e.offset + e.length) / blockSize));
  return set;
}

/** Up to `count` members spread evenly over the candidates, so samples cover the whole disk. */
function spreadSample(candidates: BlockBits, count: number): number[] {
  const total = candidates.size();
  const n = Math.min(count, total);
  if (n === 0) return [];
  const wanted = new Set(Array.from({ length: n }, (_, k) => Math.floor(((k + 0.5) * total) / n)));
  const picked: number[] = [];
  let rank = 0;
  for (const i of members(candidates)) if (wanted.has(rank++)) picked.push(i);
  return picked;
}

export async function backupImage(repo: Repository, options: ImageBackupOptions): Promise<ImageBackupResult> {
  if (options.dirtyBitmap !== undefined && options.changedBlocks !== undefined) throw invalidArgument('--dirty-bitmap and --changed-blocks cannot be combined');
  if (options.dirtyBitmap !== undefined && !isNbdUri(options.source)) {
    throw invalidArgument('--dirty-bitmap needs an NBD source (nbd://HOST/EXPORT or nbd+unix:///EXPORT?socket=PATH)');
  }
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
    options.onEvent?.({ type: 'warning', message });
  };
  const source = await openImageSource(options.source, {
    ...(options.dirtyBitmap === undefined ? {} : { dirtyBitmap: options.dirtyBitmap }),
    onBitmapUnavailable: (reason) =>
      warn(`${reason}. The bitmap is missing or was dropped after an unclean shutdown: falling back to checksum mode (every allocated block is read)`),
  });
  try {
    return await new ImageBackupRun(repo, source, options, warnings, warn).run();
  } finally {
    await source.close();
  }
}

class ImageBackupRun {
  private readonly blocks: ImageBlockCounts = { total: 0, unused: 0, read: 0, sampled: 0, reused: 0, changed: 0, stored: 0, zero: 0 };
  private readonly bytes: ImageByteCounts = { read: 0, metadata: 0, added: 0, stored: 0 };
  private dataBlobs = 0;
  private treeBlobs = 0;
  /** Block buffers done with, for the next reads. */
  private readonly buffers: Buffer[] = [];

  constructor(
    private readonly repo: Repository,
    private readonly source: ImageSource,
    private readonly options: ImageBackupOptions,
    private readonly warnings: string[],
    private readonly warn: (message: string) => void,
  ) {}

  async run(): Promise<ImageBackupResult> {
    const { repo, source, options } = this;
    const started = options.time ?? new Date();
    const startMs = Date.now();
    const name = options.name ?? source.defaultName;
    if (name === undefined) throw invalidArgument(`${source.location} has no name to use for the image: give one with --name`);
    checkImageName(name);
    const host = options.hostname ?? osHostname();

    await repo.loadIndex();
    const adopted = options.dryRun ? { packs: 0, bytes: 0 } : await repo.adoptUnindexedPacks();
    let parent: ImageSnapshot | undefined = options.parent
      ? await loadImageSnapshot(repo, await findSnapshot(repo, options.parent), name)
      : await findImageParent(repo, host, name);
    const blockSize = options.blockSize ?? parent?.directory.blockSize ?? defaultBlockSize(source.size);
    checkBlockSize(blockSize);
    if (Math.ceil(source.size / blockSize) > MAX_BLOCKS) {
      throw invalidArgument(`${source.size} bytes in blocks of ${blockSize} are more than ${MAX_BLOCKS} blocks: use a larger --block-size`);
    }
    if (parent !== undefined && parent.directory.blockSize !== blockSize) {
      this.warn(`the parent ${parent.id.slice(0, 8)} has blocks of ${parent.directory.blockSize} bytes, not ${blockSize}: starting a new series of generations`);
      parent = undefined;
    }
    const tracking = options.dirtyBitmap !== undefined ? 'dirty bitmap' : options.changedBlocks !== undefined ? 'change list' : undefined;
    if (parent === undefined && tracking !== undefined) this.warn(`no earlier backup of image "${name}" to start from: reading every allocated block, the ${tracking} is not used`);
    let mode: GenerationMode =
      parent === undefined ? 'full' : source.dirtyExtents !== undefined ? 'dirty-bitmap' : options.changedBlocks !== undefined ? 'changed-blocks' : 'checksum';
    const timeNs = BigInt(started.getTime()) * 1_000_000n;
    const init = { name, source: source.location, volumeSize: source.size, timeNs, mode };
    const dir = parent ? BlockDirectory.next(parent.directory, { ...init, parentSnapshotId: parent.id }) : BlockDirectory.first({ ...init, blockSize });
    const parentRef = parent === undefined ? undefined : { id: parent.id, generation: parent.directory.generation };
    this.blocks.total = dir.blockCount;
    options.onEvent?.({
      type: 'start',
      name,
      source: source.location,
      volumeSize: source.size,
      blockSize,
      blockCount: dir.blockCount,
      parent: parentRef,
      mode,
      adoptedPacks: adopted.packs,
      adoptedBytes: adopted.bytes,
    });

    const map = await detectAllocation(source, { granularity: blockSize });
    this.bytes.metadata = map.metadataBytesRead;
    for (const w of map.warnings) this.warn(w);
    const layout = describeLayout(map);
    const used = usedBlocks(map, blockSize);
    const changed = mode === 'dirty-bitmap' || mode === 'changed-blocks' ? await changedSet(source, options, blockSize, dir.blockCount) : undefined;

    const toRead = new BlockBits(dir.blockCount);
    const reusable = new BlockBits(dir.blockCount);
    for (let i = 0; i < dir.blockCount; i++) {
      if (!used.has(i)) {
        this.blocks.unused++;
        if (dir.setUnused(i)) this.blocks.changed++;
      } else if (changed !== undefined && !changed.has(i) && !dir.isUnknown(i) && !dir.isUnused(i) && repo.index.has('data', dir.contentId(i))) {
        reusable.add(i);
      } else {
        toRead.add(i);
      }
    }
    if (changed !== undefined && !(await this.samplesMatch(dir, reusable, tracking!))) {
      mode = 'checksum';
      for (const i of members(reusable)) toRead.add(i);
    } else {
      this.blocks.reused = reusable.size();
    }
    const readCount = toRead.size();
    let bytesToRead = readCount * blockSize;
    if (toRead.has(dir.blockCount - 1)) bytesToRead -= blockSize - dir.blockLength(dir.blockCount - 1);
    options.onEvent?.({ type: 'plan', layout, usedBytes: map.usedBytes, toRead: readCount, bytesToRead, mode });

    const stopCheckpoints = startCheckpoints(repo, options.checkpointEvery ?? DEFAULT_CHECKPOINT_MS, (files) =>
      options.onEvent?.({ type: 'checkpoint', indexFiles: files }),
    );
    let tree: string;
    try {
      await runLimited(members(toRead), options.blocksInFlight ?? DEFAULT_BLOCKS_IN_FLIGHT, (i) => this.backupBlock(dir, i), options.signal);
      const lengths = new Set<number>();
      for (let i = 0; i < dir.blockCount; i++) if (dir.isUnused(i)) lengths.add(dir.blockLength(i));
      // restic lists an unused block as the zero blob of its length, so that blob must exist.
      for (const length of lengths) await this.store(zeros(length), zeroBlockId(length).toString('hex'));
      dir.finishGeneration(this.blocks.changed, mode);
      tree = await this.saveTree(dir, started);
      await stopCheckpoints();
      if (!options.dryRun) await repo.flush();
    } catch (err) {
      await stopCheckpoints();
      // Keep what was uploaded: an index for finished packs lets the next run reuse them.
      if (!options.dryRun) await repo.waitForUploads().then(() => repo.writeIndex()).catch(() => undefined);
      throw err;
    }
    const changedNote = await source.changedSinceOpen?.();
    if (changedNote !== undefined) this.warn(`${changedNote}; the image may be inconsistent (see "Consistency" in docs/images.md)`);

    const user = currentUser();
    const snapshot: Snapshot = {
      time: goTimeFromDate(started),
      ...(parent ? { parent: parent.id } : {}),
      tree,
      paths: [imagePath(name)],
      hostname: host,
      username: user.username,
      uid: user.uid,
      gid: user.gid,
      ...(options.tags && options.tags.length > 0 ? { tags: [...options.tags] } : {}),
      programVersion,
      summary: {
        backupStart: goTimeFromDate(started),
        backupEnd: goTimeFromDate(new Date()),
        filesNew: parent ? 0 : 1,
        filesChanged: parent && this.blocks.changed > 0 ? 1 : 0,
        filesUnmodified: parent && this.blocks.changed === 0 ? 1 : 0,
        dirsNew: 0,
        dirsChanged: 0,
        dirsUnmodified: 0,
        dataBlobs: this.dataBlobs,
        treeBlobs: this.treeBlobs,
        dataAdded: this.bytes.added,
        dataAddedPacked: this.bytes.stored,
        totalFilesProcessed: 1,
        totalBytesProcessed: source.size,
      },
    };
    // The commit: written only after every pack and index file it needs is stored.
    const snapshotId = options.dryRun ? undefined : await saveSnapshot(repo, snapshot);
    return {
      snapshotId,
      snapshot,
      name,
      source: source.location,
      volumeSize: source.size,
      blockSize,
      generation: dir.generation,
      mode,
      parent: parentRef,
      layout,
      blocks: this.blocks,
      bytes: this.bytes,
      warnings: this.warnings,
      adoptedPacks: adopted.packs,
      durationMs: Date.now() - startMs,
    };
  }

  /** Reads a few blocks the tracker calls unchanged; false (with a warning) when one differs from the parent. */
  private async samplesMatch(dir: BlockDirectory, reusable: BlockBits, tracking: string): Promise<boolean> {
    let differs: number | undefined;
    await runLimited(spreadSample(reusable, this.options.verifySamples ?? DEFAULT_SAMPLES), this.options.blocksInFlight ?? DEFAULT_BLOCKS_IN_FLIGHT, async (i) => {
      const data = await this.readBlock(dir, i);
      this.blocks.sampled++;
      const { id } = await this.repo.hash(data);
      this.buffers.push(data);
      if (!dir.sameId(i, Buffer.from(id, 'hex'))) differs = Math.min(differs ?? i, i);
    });
    if (differs === undefined) return true;
    this.warn(
      `block ${differs} (at byte ${differs * dir.blockSize}) differs from the parent although the ${tracking} says it did not change: ` +
        'the change tracking missed writes; reading every allocated block instead (checksum mode)',
    );
    return false;
  }

  /** Reads a block into a buffer of the pool (blocks in flight are bounded, so is the pool). */
  private async readBlock(dir: BlockDirectory, i: number): Promise<Buffer> {
    const length = dir.blockLength(i);
    const pooled = this.buffers.pop();
    const data = pooled !== undefined && pooled.length === length ? pooled : Buffer.allocUnsafeSlow(length);
    await this.source.readInto(i * dir.blockSize, data);
    this.blocks.read++;
    this.bytes.read += length;
    this.options.onEvent?.({ type: 'block', index: i, bytes: length });
    return data;
  }

  private async backupBlock(dir: BlockDirectory, i: number): Promise<void> {
    await this.repo.ready();
    const data = await this.readBlock(dir, i);
    await this.keep(dir, i, data);
    // The repository copies what it keeps, so the buffer can take the next block.
    this.buffers.push(data);
  }

  private async keep(dir: BlockDirectory, i: number, data: Buffer): Promise<void> {
    if (data.equals(zeros(data.length))) {
      this.blocks.zero++;
      if (dir.set(i, zeroBlockId(data.length))) this.blocks.changed++;
      if (await this.store(data, zeroBlockId(data.length).toString('hex'))) this.blocks.stored++;
      return;
    }
    if ((dir.isUnknown(i) || dir.isUnused(i)) && !this.options.dryRun) {
      // Nothing to compare with: hashing and sealing in one trip to a worker halves the traffic of a
      // full backup; only a block the repository already has is compressed in vain.
      const r = await this.repo.saveBlob('data', data);
      if (dir.set(i, Buffer.from(r.id, 'hex'))) this.blocks.changed++;
      if (!r.known) {
        this.blocks.stored++;
        this.added(data.length, r.storedBytes);
      }
      return;
    }
    const { id } = await this.repo.hash(data);
    if (dir.set(i, Buffer.from(id, 'hex'))) this.blocks.changed++;
    if (await this.store(data, id)) this.blocks.stored++;
  }

  private added(plainBytes: number, storedBytes: number): void {
    this.dataBlobs++;
    this.bytes.added += plainBytes;
    this.bytes.stored += storedBytes;
  }

  /** Saves a data blob unless the repository has it; true when it was new. */
  private async store(data: Buffer, id: string): Promise<boolean> {
    if (this.repo.hasBlob('data', id)) return false;
    if (this.options.dryRun) {
      this.bytes.added += data.length;
      return true;
    }
    const r = await this.repo.saveBlob('data', data, id);
    if (r.known) return false;
    this.added(data.length, r.storedBytes);
    return true;
  }

  private async saveTree(dir: BlockDirectory, started: Date): Promise<string> {
    const chunks = encodeBlockDirectory(dir);
    const content: string[] = [];
    let size = 0;
    for (const chunk of chunks) {
      const id = hashId(chunk);
      size += chunk.length;
      content.push(id);
      await this.store(chunk, id);
    }
    const user = currentUser();
    const tree = encodeImageTree(dir, content, size, { time: goTimeFromDate(started), uid: user.uid, gid: user.gid, user: user.username });
    const id = hashId(tree);
    if (this.repo.hasBlob('tree', id) || this.options.dryRun) return id;
    const r = await this.repo.saveBlob('tree', tree, id);
    if (!r.known) {
      this.treeBlobs++;
      this.bytes.added += tree.length;
      this.bytes.stored += r.storedBytes;
    }
    return id;
  }
}
