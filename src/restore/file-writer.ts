// The restore's files on the main thread: created once, completed when the last blob is in, a bounded
// set kept open while blobs are due; a file whose content failed is removed, never left to look whole.

import { close, constants, ftruncate, open, write } from 'node:fs';
import { chmod, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { isSystemError, messageOf } from '../errors.js';
import { type KnownOwner, type MetadataContext, restoreFileMetadata, restoreTimes } from './metadata.js';
import type { PlannedFile } from './plan.js';
import { setExtendedAttributes } from './xattrs.js';
import { nonZeroRuns } from './zero-blocks.js';

const openAsync = promisify(open);
const writeAsync = promisify(write);
const closeAsync = promisify(close);
const ftruncateAsync = promisify(ftruncate);

/**
 * create: the file does not exist (made with O_EXCL, never through a symlink planted meanwhile);
 * truncate: an existing file rewritten from scratch; update: an existing file whose differing
 * blobs are rewritten in place, the others kept.
 */
export type OpenMode = 'create' | 'truncate' | 'update';

async function writeAll(fd: number, data: Buffer, start: number, end: number, position: number): Promise<void> {
  while (start < end) {
    const { bytesWritten } = await writeAsync(fd, data, start, end - start, position);
    start += bytesWritten;
    position += bytesWritten;
  }
}

export class FileJob {
  /** Blob writes still expected. */
  pending = 0;
  fd: number | undefined;
  opening: Promise<number> | undefined;
  /** Users of the descriptor right now (writes here or in a writer thread): it must stay open. */
  busy = 0;
  /** Highest offset written: when it falls short of the size, the end is truncated into place. */
  end = 0;
  /** Why the content could not be restored; the file is then removed. */
  error: string | undefined;
  /** The file was opened (created or changed) by this restore. */
  touched = false;
  /** Its content was found in place already: only its metadata is set. */
  unchanged = false;

  constructor(
    readonly file: PlannedFile,
    readonly mode: OpenMode,
    /** Skip zero blocks: only where the file reads as zeros before writing (create, truncate). */
    readonly sparse: boolean,
    /** The owner the new file has (our own, in a directory we made), to skip a useless chown. */
    readonly owner: KnownOwner | undefined,
    /** Mode to create the file with; when the umask leaves it whole, no chmod is needed later. */
    readonly createMode = 0o600,
    /** The created file already has its final mode. */
    public modeSet = false,
    /** Which blobs of an updated file hold the right bytes already, by number: those are not written. */
    readonly inPlace?: readonly boolean[],
  ) {}

  get size(): number {
    return this.file.size;
  }

  /** Flags for the first open: O_EXCL for a new file, never following a symlink. */
  get openFlags(): number {
    const { O_CREAT, O_EXCL, O_NOFOLLOW, O_TRUNC, O_WRONLY } = constants;
    if (this.touched) return O_WRONLY | O_NOFOLLOW;
    if (this.mode === 'create') return O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW;
    return O_WRONLY | O_NOFOLLOW | (this.mode === 'truncate' ? O_TRUNC : 0);
  }

  /** Whether the end must be cut even when the last byte was written (an existing file may be longer). */
  get truncateAlways(): boolean {
    return this.mode === 'update';
  }
}

export interface FileOutcome {
  /** The content failed; the file was removed. */
  readonly contentError?: string | undefined;
  /** The content is complete but setting metadata failed. */
  readonly metadataError?: string | undefined;
}

/** Descriptors kept open for files still waiting for blobs. */
const MAX_OPEN = 256;

export class FileWriter {
  /** Jobs holding a descriptor, least recently used first. */
  private readonly open = new Map<FileJob, true>();
  private readonly finishing = new Set<Promise<void>>();

  constructor(
    private readonly ctx: MetadataContext,
    private readonly onFinished: (job: FileJob, outcome: FileOutcome) => void,
  ) {}

  /** The job's descriptor, opened if need be, kept open until `unhold` (a writer thread uses it). */
  async hold(job: FileJob): Promise<number> {
    job.busy++;
    try {
      return await this.descriptor(job);
    } catch (err) {
      job.busy--;
      throw err;
    }
  }

  unhold(job: FileJob): void {
    job.busy--;
  }

  /** Writes one expected blob use from this thread. Errors are recorded on the job, never thrown. */
  async write(job: FileJob, data: Buffer, offset: number): Promise<void> {
    if (job.error === undefined) {
      job.busy++;
      try {
        const fd = await this.descriptor(job);
        if (job.sparse) {
          for (const [start, end] of nonZeroRuns(data, offset)) {
            await writeAll(fd, data, start, end, offset + start);
            job.end = Math.max(job.end, offset + end);
          }
        } else {
          await writeAll(fd, data, 0, data.length, offset);
          job.end = Math.max(job.end, offset + data.length);
        }
      } catch (err) {
        job.error ??= messageOf(err);
      } finally {
        job.busy--;
      }
    }
    this.settle(job, 1);
  }

  /** `count` expected blob uses are done (written elsewhere, or failed when the job has an error). */
  settle(job: FileJob, count: number): void {
    job.pending -= count;
    if (job.pending === 0) this.track(this.finish(job));
  }

  /** Expected blob uses that cannot be delivered: the file fails. */
  fail(job: FileJob, message: string, count = 1): void {
    job.error ??= message;
    this.settle(job, count);
  }

  /** Completes a job that expects no blob writes (empty files, files already in place). */
  start(job: FileJob): void {
    if (job.pending === 0) this.track(this.finish(job));
  }

  /** A file a writer thread completed, but for the times when it could not set them, and xattrs. */
  completed(job: FileJob, timesSet: boolean, metadataError: string | undefined): void {
    job.pending = 0;
    job.touched = true;
    // Most files need nothing more: no promise for them.
    if (timesSet && job.file.extendedAttributes.length === 0) this.onFinished(job, { metadataError });
    else this.track(this.afterClose(job, !timesSet, metadataError));
  }

  /** Resolves when every completion started so far has ended. */
  async drain(): Promise<void> {
    while (this.finishing.size > 0) await Promise.all([...this.finishing]);
  }

  private track(p: Promise<void>): void {
    this.finishing.add(p);
    void p.finally(() => this.finishing.delete(p));
  }

  private async finish(job: FileJob): Promise<void> {
    let metadataError: string | undefined;
    let timesLeft = false;
    job.busy++;
    try {
      if (job.error === undefined) {
        const fd = await this.descriptor(job);
        if (job.truncateAlways || job.end !== job.size) await ftruncateAsync(fd, job.size);
        try {
          timesLeft = !(await restoreFileMetadata(fd, job.file, this.ctx, job.owner, job.modeSet));
        } catch (err) {
          metadataError = messageOf(err);
        }
      }
    } catch (err) {
      job.error ??= messageOf(err);
    } finally {
      job.busy--;
    }
    await this.release(job);
    await this.afterClose(job, timesLeft, metadataError);
  }

  /** The steps that need the path: removal of a failed file, nanosecond times, xattrs (last, as restic). */
  private async afterClose(job: FileJob, timesLeft: boolean, metadataError: string | undefined): Promise<void> {
    const file = job.file;
    const path = file.path;
    if (job.error !== undefined) {
      // Half-written content must not pass for the file: remove it (an untouched one stays).
      if (job.touched) await unlink(path).catch(() => undefined);
    } else {
      const fail = (err: unknown) => {
        metadataError ??= messageOf(err);
      };
      if (timesLeft) await restoreTimes(path, file, this.ctx).catch(fail);
      await setExtendedAttributes(path, file.extendedAttributes, this.ctx.helper).catch(fail);
    }
    this.onFinished(job, { contentError: job.error, metadataError });
  }

  private descriptor(job: FileJob): number | Promise<number> {
    if (job.fd !== undefined) {
      this.open.delete(job);
      this.open.set(job, true);
      return job.fd;
    }
    job.opening ??= this.openJob(job).finally(() => {
      job.opening = undefined;
    });
    return job.opening;
  }

  private async openJob(job: FileJob): Promise<number> {
    if (this.open.size >= MAX_OPEN) this.evictIdle();
    // The slot is taken before the open so that concurrent openers count it.
    this.open.set(job, true);
    try {
      const fd = await this.openFile(job);
      job.touched = true;
      job.fd = fd;
      return fd;
    } catch (err) {
      this.open.delete(job);
      throw err;
    }
  }

  private async openFile(job: FileJob): Promise<number> {
    const flags = job.openFlags;
    const path = job.file.path;
    // A new file gets a writable descriptor whatever mode it is created with.
    if (flags & constants.O_CREAT) return openAsync(path, flags, job.createMode);
    try {
      return await openAsync(path, flags);
    } catch (err) {
      // A read-only file of a user who owns it: make it writable, its mode is set at the end anyway.
      if (!isSystemError(err, 'EACCES')) throw err;
      await chmod(path, 0o600);
      job.modeSet = false;
      return openAsync(path, flags);
    }
  }

  /** Closes the descriptor of the least recently used job nobody is using. */
  private evictIdle(): void {
    for (const job of this.open.keys()) {
      if (job.fd === undefined || job.busy > 0) continue;
      void this.release(job);
      return;
    }
  }

  private async release(job: FileJob): Promise<void> {
    const fd = job.fd;
    if (fd === undefined) return;
    job.fd = undefined;
    this.open.delete(job);
    await closeAsync(fd).catch((err: unknown) => {
      job.error ??= messageOf(err);
    });
  }
}
