// Messages between a restore and its writer threads: a pack range with its blobs and their files,
// and back what became of each file; numbers in typed arrays, texts joined, to keep cloning cheap.

/** A file completed inside the writer thread: created or opened, written and given its metadata. */
export interface OwnedFile {
  /** The path's bytes as latin1 text (one byte a character, whatever the bytes). */
  readonly path: string;
  readonly flags: number;
  readonly createMode: number;
  readonly size: number;
  /** Truncate to `size` even when the last byte was written (an existing file may be longer). */
  readonly truncate: boolean;
  /** uid, gid, and whether a failure is normal (a user cannot give files away). */
  readonly chown: readonly [uid: number, gid: number, bestEffort: boolean] | undefined;
  readonly chmod: number | undefined;
  /** Seconds for futimes; undefined when the times must be set by path afterwards. */
  readonly times: readonly [atime: number, mtime: number] | undefined;
}

export interface WorkerFile {
  /** A descriptor the caller holds open: the thread only writes to it. */
  readonly fd: number | undefined;
  /** Otherwise the thread does the whole file. */
  readonly own: OwnedFile | undefined;
  /** Leave whole zero blocks unwritten. */
  readonly sparse: boolean;
}

export interface WorkerBlob {
  /** Where the sealed blob starts in the range's data. */
  readonly offset: number;
  readonly length: number;
  readonly uncompressedLength: number | undefined;
  readonly id: string;
  /** Pairs of (index into files, offset in that file). */
  readonly targets: ArrayLike<number>;
}

/**
 * Where a range's bytes are: moved to the thread, or (a local repository) in a pack the thread
 * reads itself, through a descriptor the caller keeps open until the job's result is in.
 */
export type RangeSource = ArrayBuffer | { readonly fd: number; readonly offset: number; readonly length: number; readonly name: string };

/** Range reads stop growing here: a unit of work for one thread, and of memory. */
export const MAX_RANGE = 4 * 1024 * 1024;

export const rangeLength = (source: RangeSource): number => (source instanceof ArrayBuffer ? source.byteLength : source.length);

/** What is posted: the range's bytes, and blobs and files packed as described in encodeJob. */
export interface RangeJob {
  readonly seq: number;
  readonly data: RangeSource;
  readonly blobNumbers: Float64Array;
  readonly ids: string;
  readonly targets: Float64Array;
  readonly fileNumbers: Float64Array;
  readonly paths: string;
}

const BLOB_FIELDS = 5;
const FILE_FIELDS = 13;
const NONE = -1;

export function encodeJob(data: RangeSource, blobs: readonly WorkerBlob[], files: readonly WorkerFile[]): Omit<RangeJob, 'seq'> {
  const blobNumbers = new Float64Array(blobs.length * BLOB_FIELDS);
  let targetCount = 0;
  for (const b of blobs) targetCount += b.targets.length;
  const targets = new Float64Array(targetCount);
  let t = 0;
  blobs.forEach((b, i) => {
    blobNumbers.set([b.offset, b.length, b.uncompressedLength ?? NONE, t, b.targets.length], i * BLOB_FIELDS);
    targets.set(Array.from(b.targets), t);
    t += b.targets.length;
  });
  const fileNumbers = new Float64Array(files.length * FILE_FIELDS);
  let paths = '';
  files.forEach((f, i) => {
    const o = f.own;
    const pathLength = o ? o.path.length : 0;
    if (o) paths += o.path;
    fileNumbers.set(
      [
        f.fd ?? NONE,
        f.sparse ? 1 : 0,
        pathLength,
        o ? o.flags : 0,
        o ? o.createMode : 0,
        o ? o.size : 0,
        o?.truncate ? 1 : 0,
        o?.chown ? o.chown[0] : NONE,
        o?.chown ? o.chown[1] : NONE,
        o?.chown?.[2] ? 1 : 0,
        o?.chmod ?? NONE,
        o?.times ? o.times[0] : Number.NaN,
        o?.times ? o.times[1] : Number.NaN,
      ],
      i * FILE_FIELDS,
    );
  });
  return { data, blobNumbers, ids: blobs.map((b) => b.id).join(''), targets, fileNumbers, paths };
}

/** The thread's side of encodeJob; `own` is set when the path is not empty. */
export function decodeJob(job: RangeJob): { blobs: WorkerBlob[]; files: WorkerFile[] } {
  const blobs: WorkerBlob[] = [];
  for (let i = 0; i * BLOB_FIELDS < job.blobNumbers.length; i++) {
    const n = job.blobNumbers.subarray(i * BLOB_FIELDS, (i + 1) * BLOB_FIELDS);
    blobs.push({
      offset: n[0]!,
      length: n[1]!,
      uncompressedLength: n[2] === NONE ? undefined : n[2]!,
      id: job.ids.slice(i * 64, i * 64 + 64),
      targets: job.targets.subarray(n[3]!, n[3]! + n[4]!),
    });
  }
  const files: WorkerFile[] = [];
  let pathAt = 0;
  for (let i = 0; i * FILE_FIELDS < job.fileNumbers.length; i++) {
    const n = job.fileNumbers.subarray(i * FILE_FIELDS, (i + 1) * FILE_FIELDS);
    const pathLength = n[2]!;
    let own: OwnedFile | undefined;
    if (pathLength > 0) {
      own = {
        path: job.paths.slice(pathAt, pathAt + pathLength),
        flags: n[3]!,
        createMode: n[4]!,
        size: n[5]!,
        truncate: n[6] === 1,
        chown: n[7] === NONE ? undefined : [n[7]!, n[8]!, n[9] === 1],
        chmod: n[10] === NONE ? undefined : n[10]!,
        times: Number.isNaN(n[11]) ? undefined : [n[11]!, n[12]!],
      };
      pathAt += pathLength;
    }
    files.push({ fd: n[0] === NONE ? undefined : n[0]!, own, sparse: n[1] === 1 });
  }
  return { blobs, files };
}

/**
 * What became of the files of a job, by index: `numbers` holds for each file its highest offset
 * written and flags (opened, completed, times set); errors and failed blob uses are listed only
 * for the few files that have them.
 */
export interface RangeResult {
  readonly seq: number;
  readonly numbers: Float64Array;
  /** Writing failed: an owned file was removed, a caller's file must be. */
  readonly errors: readonly { readonly file: number; readonly message: string }[];
  /** The content of an owned file is complete but a metadata step failed. */
  readonly metadataErrors: readonly { readonly file: number; readonly message: string }[];
  /** Blob uses (indexes into the job's blobs, one per use) that could not be written, by file. */
  readonly failedBlobs: readonly { readonly file: number; readonly blobs: readonly number[] }[];
  /** Why each failed blob failed. */
  readonly blobErrors: readonly { readonly blob: number; readonly message: string }[];
}

/** Per file: highest offset written, then flags. */
export const RESULT_FIELDS = 2;
export const RESULT_OPENED = 1;
export const RESULT_COMPLETED = 2;
export const RESULT_TIMES_SET = 4;
