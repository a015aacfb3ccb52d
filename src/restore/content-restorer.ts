// Contents restored pack by pack as restic does: wanted blobs grouped by pack, read in a few range
// reads, verified and written by writer threads to every place that uses them; failures retried.

import { messageOf } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { ByteBudget } from './byte-budget.js';
import { type FileBlob, indexedFileBlobs, plaintextLength } from './file-blobs.js';
import type { FileJob, FileWriter } from './file-writer.js';
import type { PlannedFile } from './plan.js';
import type { MetadataContext } from './metadata.js';
import { fileMetadataSteps } from './metadata.js';
import type { RestoreWorkers } from './restore-workers.js';
import { encodeJob, MAX_RANGE, type OwnedFile, RESULT_COMPLETED, RESULT_FIELDS, RESULT_OPENED, RESULT_TIMES_SET, type RangeResult, type RangeSource, type WorkerBlob, type WorkerFile } from './write-jobs.js';

/** A place a blob is written to: a file and the offset in it. */
interface Target {
  readonly job: FileJob;
  readonly offset: number;
}

/** A blob to read from a pack; the first place it goes is in the object (most blobs go to one file only). */
interface BlobUse {
  readonly id: string;
  readonly offset: number;
  readonly length: number;
  readonly uncompressedLength: number | undefined;
  readonly job: FileJob;
  readonly fileOffset: number;
  /** Places besides the first. */
  more: Target[] | undefined;
}

function targetsOf(use: BlobUse): Target[] {
  const first = { job: use.job, offset: use.fileOffset };
  return use.more ? [first, ...use.more] : [first];
}

interface ReadRange {
  readonly offset: number;
  readonly length: number;
  readonly blobs: BlobUse[];
}

export interface ContentOptions {
  readonly packConcurrency: number;
  /** Bytes of pack data read and not yet written, at most. */
  readonly memoryLimit: number;
  /** Content bytes written for a file (progress). */
  readonly onBytes: (bytes: number) => void;
  /** When aborted, the blobs not read yet fail their files. */
  readonly signal?: AbortSignal | undefined;
}

/** Why the files still waiting for blobs fail when the restore is stopped. */
export const INTERRUPTED = 'interrupted';

/** Gaps up to this size between needed blobs are read through rather than split into two reads. */
const MAX_GAP = 1024 * 1024;

function rangesOf(blobs: BlobUse[]): ReadRange[] {
  blobs.sort((a, b) => a.offset - b.offset);
  const ranges: ReadRange[] = [];
  let current: { offset: number; end: number; blobs: BlobUse[] } | undefined;
  for (const b of blobs) {
    if (current && b.offset - current.end <= MAX_GAP && b.offset + b.length - current.offset <= MAX_RANGE) {
      current.end = Math.max(current.end, b.offset + b.length);
      current.blobs.push(b);
      continue;
    }
    if (current) ranges.push({ offset: current.offset, length: current.end - current.offset, blobs: current.blobs });
    current = { offset: b.offset, end: b.offset + b.length, blobs: [b] };
  }
  if (current) ranges.push({ offset: current.offset, length: current.end - current.offset, blobs: current.blobs });
  return ranges;
}

/**
 * Blobs a writer thread takes at once. A range of small blobs can hold tens of thousands of small
 * files; in parts, both threads share them (each part is copied to move to its thread).
 */
const PART_BLOBS = 512;

function partsOf(range: ReadRange): ReadRange[] {
  if (range.blobs.length <= PART_BLOBS) return [range];
  const parts: ReadRange[] = [];
  for (let i = 0; i < range.blobs.length; i += PART_BLOBS) {
    const blobs = range.blobs.slice(i, i + PART_BLOBS);
    const start = blobs[0]!.offset;
    const end = Math.max(...blobs.map((b) => b.offset + b.length));
    parts.push({ offset: start, length: end - start, blobs });
  }
  return parts;
}

/** Waits for every part, then fails with the first failure, if any. */
async function allParts(parts: Promise<void>[]): Promise<void> {
  for (const r of await Promise.allSettled(parts)) if (r.status === 'rejected') throw r.reason;
}

/** The bytes of a buffer as an ArrayBuffer of their own, which can move to a thread. */
function ownArrayBuffer(data: Buffer): ArrayBuffer {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) return data.buffer;
  const copy = new ArrayBuffer(data.byteLength);
  new Uint8Array(copy).set(data);
  return copy;
}

/** A pack is read once this many bytes of it are wanted, while the walk still finds more. */
const DISPATCH_BYTES = 2 * 1024 * 1024;

/**
 * Files that want blobs from a pack. A restore can wait for every blob of a snapshot at once, so
 * what waits is the list of files, not of blobs: their blobs are looked up again when it is read.
 */
interface PackWants {
  readonly packId: string;
  readonly files: PlannedFile[];
  /** Stored bytes wanted. */
  bytes: number;
}

export class ContentRestorer {
  /** What is wanted from each pack and not read yet, packs in the order files first needed them. */
  private readonly packs = new Map<string, PackWants>();
  private readonly queue: PackWants[] = [];
  private running = 0;
  private failure: unknown;
  private whenIdle: (() => void) | undefined;
  private readonly budget: ByteBudget;

  constructor(
    private readonly repo: Repository,
    private readonly workers: RestoreWorkers,
    private readonly writer: FileWriter,
    private readonly ctx: MetadataContext,
    private readonly options: ContentOptions,
    /** Makes the job of a file that has none yet, when its first blobs are about to be read. */
    private readonly makeJob: (file: PlannedFile) => FileJob,
  ) {
    this.budget = new ByteBudget(options.memoryLimit);
  }

  /**
   * Schedules the blobs of a file that are not in place yet (`skip[i]` true: blob i already is, as
   * the inPlace of the job made for it will say). A pack with enough wanted bytes is read at once;
   * more blobs wanted from it later mean another read of that pack, cheap next to leaving the
   * threads idle while the walk goes on.
   */
  add(file: PlannedFile, blobs: readonly FileBlob[], skip?: readonly boolean[]): void {
    for (const [i, blob] of blobs.entries()) {
      if (skip?.[i]) continue;
      const loc = blob.location;
      let pack = this.packs.get(loc.packId);
      if (!pack) {
        pack = { packId: loc.packId, files: [], bytes: 0 };
        this.packs.set(loc.packId, pack);
      }
      if (pack.files[pack.files.length - 1] !== file) pack.files.push(file);
      pack.bytes += loc.length;
    }
    for (const blob of blobs) {
      const pack = this.packs.get(blob.location.packId);
      if (pack && pack.bytes >= DISPATCH_BYTES) this.dispatch(blob.location.packId);
    }
  }

  /** Reads every pack still wanted and resolves when all contents are written. */
  async finish(): Promise<void> {
    for (const packId of [...this.packs.keys()]) this.dispatch(packId);
    if (this.running > 0) await new Promise<void>((resolve) => (this.whenIdle = resolve));
    if (this.failure !== undefined) throw this.failure;
  }

  private dispatch(packId: string): void {
    const pack = this.packs.get(packId);
    if (!pack) return;
    this.packs.delete(packId);
    this.queue.push(pack);
    this.schedule();
  }

  private schedule(): void {
    while (this.running < this.options.packConcurrency && this.queue.length > 0) {
      const pack = this.queue.shift()!;
      this.running++;
      this.restorePack(pack)
        .catch((err: unknown) => {
          this.failure ??= err;
        })
        .finally(() => {
          this.running--;
          this.schedule();
          if (this.running === 0 && this.queue.length === 0) this.whenIdle?.();
        });
    }
  }

  /**
   * The blobs its files want from a pack, each once, with every place it goes. A file's job is
   * made here, the first time: most files wait for their pack for most of the restore.
   */
  private blobsWanted(pack: PackWants): BlobUse[] {
    const byOffset = new Map<number, BlobUse>();
    const seen = new Set<PlannedFile>();
    for (const file of pack.files) {
      // A file whose blobs alternate between packs is listed more than once.
      if (seen.has(file)) continue;
      seen.add(file);
      const blobs = indexedFileBlobs(this.repo, file.content);
      const job = file.job ?? this.startJob(file, blobs.length);
      for (const [i, blob] of blobs.entries()) {
        const loc = blob.location;
        if (loc.packId !== pack.packId || job.inPlace?.[i]) continue;
        const use = byOffset.get(loc.offset);
        if (use) (use.more ??= []).push({ job, offset: blob.offset });
        else byOffset.set(loc.offset, { id: blob.id, offset: loc.offset, length: loc.length, uncompressedLength: loc.uncompressedLength, job, fileOffset: blob.offset, more: undefined });
      }
    }
    return [...byOffset.values()];
  }

  /** Makes a file's job, expecting a write of each of its `blobCount` blobs not in place. */
  private startJob(file: PlannedFile, blobCount: number): FileJob {
    const job = this.makeJob(file);
    file.job = job;
    for (let i = 0; i < blobCount; i++) if (!job.inPlace?.[i]) job.pending++;
    return job;
  }

  private async restorePack(pack: PackWants): Promise<void> {
    const packId = pack.packId;
    const done: Promise<void>[] = [];
    for (const range of rangesOf(this.blobsWanted(pack))) {
      await this.budget.acquire(range.length);
      if (this.options.signal?.aborted) {
        this.budget.release(range.length);
        for (const b of range.blobs) for (const t of targetsOf(b)) this.writer.fail(t.job, INTERRUPTED);
        continue;
      }
      const written = this.repo.backend.withPackDescriptor ? this.writeFromPack(packId, range) : (await this.readRange(packId, range)).written;
      done.push(written.finally(() => this.budget.release(range.length)));
    }
    await Promise.all(done);
  }

  /**
   * A local repository's range goes to the writer threads as a place in the pack: they read it
   * themselves, each into a buffer of its own, so no range is ever in this thread's memory.
   */
  private writeFromPack(packId: string, range: ReadRange): Promise<void> {
    const h = { type: 'data', name: packId } as const;
    return allParts(
      partsOf(range).map(async (part) => {
        let opened = false;
        try {
          await this.repo.backend.withPackDescriptor!(h, (fd) => {
            opened = true;
            return this.writeRange(packId, part, { fd, offset: part.offset, length: part.length, name: `data/${packId}` });
          });
        } catch (err) {
          if (opened) throw err;
          // The pack cannot even be opened: each blob is recovered from another copy, or fails its files.
          await Promise.all(part.blobs.map((b) => this.recover(packId, b, targetsOf(b), err)));
        }
      }),
    );
  }

  /**
   * A remote repository's range is read here, then moved to the writer threads. Resolves once it
   * is read, with the promise of its writing (boxed: awaiting the read must not await the writes).
   */
  private async readRange(packId: string, range: ReadRange): Promise<{ written: Promise<void> }> {
    let data: Buffer;
    try {
      data = await this.repo.backend.read({ type: 'data', name: packId }, { offset: range.offset, length: range.length });
    } catch (err) {
      return { written: Promise.all(range.blobs.map((b) => this.recover(packId, b, targetsOf(b), err))).then(() => undefined) };
    }
    const bytesOf = (part: ReadRange) => ownArrayBuffer(data.subarray(part.offset - range.offset, part.offset - range.offset + part.length));
    return { written: allParts(partsOf(range).map((part) => this.writeRange(packId, part, bytesOf(part)))) };
  }

  /** A file the thread can do from start to end: all its remaining blobs are in this range. */
  private ownable(job: FileJob, uses: number): boolean {
    return job.pending === uses && job.fd === undefined && job.opening === undefined && !job.touched && job.error === undefined;
  }

  private owned(job: FileJob): OwnedFile {
    const steps = fileMetadataSteps(job.file, this.ctx, job.owner, job.modeSet);
    return {
      path: job.file.pathText,
      flags: job.openFlags,
      createMode: job.createMode,
      size: job.size,
      truncate: job.truncateAlways,
      chown: steps.chown,
      chmod: steps.chmod,
      times: steps.times,
    };
  }

  private async writeRange(packId: string, range: ReadRange, data: RangeSource): Promise<void> {
    const targets = range.blobs.map(targetsOf);
    const uses = new Map<FileJob, number>();
    for (const list of targets) for (const t of list) uses.set(t.job, (uses.get(t.job) ?? 0) + 1);
    const jobs = [...uses.keys()];
    const own = jobs.map((job) => this.ownable(job, uses.get(job)!));
    const index = new Map(jobs.map((job, i) => [job, i]));
    // Files written across ranges are opened here and stay open until their last blob is in.
    const held: FileJob[] = [];
    const files: WorkerFile[] = [];
    for (const [i, job] of jobs.entries()) {
      let fd: number | undefined;
      if (!own[i] && job.error === undefined) {
        try {
          fd = await this.writer.hold(job);
          held.push(job);
        } catch (err) {
          job.error ??= messageOf(err);
        }
      }
      files.push({ fd, own: own[i] ? this.owned(job) : undefined, sparse: job.sparse });
    }
    // A file that failed already is not written to any more: its uses are settled without a write.
    const sent = (job: FileJob): boolean => own[index.get(job)!]! || files[index.get(job)!]!.fd !== undefined;
    const blobs: WorkerBlob[] = range.blobs.map((b, i) => ({
      offset: b.offset - range.offset,
      length: b.length,
      uncompressedLength: b.uncompressedLength,
      id: b.id,
      targets: targets[i]!.flatMap((t) => (sent(t.job) ? [index.get(t.job)!, t.offset] : [])),
    }));
    let result: RangeResult;
    try {
      result = await this.workers.run(encodeJob(data, blobs, files));
    } finally {
      for (const job of held) this.writer.unhold(job);
    }
    this.settleAll(jobs, own, uses, result);
    const failed = new Map(result.blobErrors.map((e) => [e.blob, e.message]));
    const recoveries: Promise<void>[] = [];
    let bytes = 0;
    range.blobs.forEach((b, i) => {
      const message = failed.get(i);
      if (message !== undefined) {
        recoveries.push(this.recover(packId, b, targets[i]!.filter((t) => sent(t.job)), new Error(message)));
        return;
      }
      for (const t of targets[i]!) if (t.job.error === undefined) bytes += plaintextLength(b);
    });
    if (bytes > 0) this.options.onBytes(bytes);
    await Promise.all(recoveries);
  }

  /** Books what a thread did for each file; the uses of failed blobs are left to recover(). */
  private settleAll(jobs: readonly FileJob[], own: readonly boolean[], uses: Map<FileJob, number>, result: RangeResult): void {
    const errors = new Map(result.errors.map((e) => [e.file, e.message]));
    const metadataErrors = new Map(result.metadataErrors.map((e) => [e.file, e.message]));
    const failedUses = new Map(result.failedBlobs.map((f) => [f.file, f.blobs.length]));
    jobs.forEach((job, i) => {
      const end = result.numbers[i * RESULT_FIELDS]!;
      const flags = result.numbers[i * RESULT_FIELDS + 1]!;
      job.end = Math.max(job.end, end);
      const done = uses.get(job)! - (failedUses.get(i) ?? 0);
      const error = errors.get(i);
      if (error !== undefined) {
        // The thread removed an owned file already; a held one is removed when it completes.
        if (own[i]) job.touched = false;
        this.writer.fail(job, error, done);
      } else if (own[i] && flags & RESULT_COMPLETED) {
        this.writer.completed(job, (flags & RESULT_TIMES_SET) !== 0, metadataErrors.get(i));
      } else {
        if (own[i] && flags & RESULT_OPENED) job.touched = true;
        this.writer.settle(job, done);
      }
    });
  }

  /** Loads a blob that failed from any copy and writes it here, or fails the files that need it. */
  private async recover(packId: string, use: BlobUse, targets: readonly Target[], firstError: unknown): Promise<void> {
    let plain: Buffer;
    try {
      plain = await this.repo.loadBlob('data', use.id);
    } catch {
      const message = `cannot restore content: blob ${use.id} in pack ${packId}: ${messageOf(firstError)}`;
      for (const t of targets) this.writer.fail(t.job, message);
      return;
    }
    await Promise.all(
      targets.map(async (t) => {
        await this.writer.write(t.job, plain, t.offset);
        if (t.job.error === undefined) this.options.onBytes(plain.length);
      }),
    );
  }
}
