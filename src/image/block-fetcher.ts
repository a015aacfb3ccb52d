// Reads the blobs of many image blocks the way a restorer should: grouped by pack, in large range
// reads, opened and verified (MAC and SHA-256) in the worker pool, each blob once however often used.

import { messageOf } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import type { BlockBits } from './block-bits.js';
import type { BlockDirectory } from './block-directory.js';
import { runLimited } from './run-limited.js';

export interface FetchOptions {
  /** Range reads in flight. */
  readonly concurrency?: number;
  /** Largest range read, in stored bytes and in the plaintext of its blobs: what each read in flight holds. */
  readonly maxRangeBytes?: number;
  /** Unneeded bytes between two blobs that are still read through rather than split into two requests. */
  readonly maxGap?: number;
  readonly signal?: AbortSignal;
}

export interface FetchHandlers {
  /** A verified blob's plaintext and the blocks that hold it. */
  onBlob(blocks: readonly number[], plain: Buffer): Promise<void>;
  /** A blob that could not be read or did not verify, from any copy. */
  onFailure(blocks: readonly number[], id: string, message: string): void;
}

interface BlobRead {
  readonly id: string;
  readonly offset: number;
  readonly length: number;
  readonly uncompressedLength: number | undefined;
  readonly blocks: number[];
}

interface RangeRead {
  readonly packId: string;
  readonly offset: number;
  length: number;
  /** The plaintext of its blobs, in bytes. */
  plain: number;
  readonly blobs: BlobRead[];
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_MAX_RANGE = 4 << 20;
const DEFAULT_MAX_GAP = 1 << 20;

/** The wanted blocks' blob locations in typed arrays, sorted by pack and offset. */
function locate(repo: Repository, dir: BlockDirectory, wanted: BlockBits, handlers: FetchHandlers) {
  const count = wanted.size();
  const blocks = new Uint32Array(count);
  const pack = new Uint32Array(count);
  const offset = new Float64Array(count);
  const length = new Uint32Array(count);
  const uncompressed = new Uint32Array(count);
  const packIds: string[] = [];
  const packNumbers = new Map<string, number>();
  let n = 0;
  for (let i = 0; i < dir.blockCount; i++) {
    if (!wanted.has(i)) continue;
    const id = dir.contentId(i);
    const loc = repo.index.lookup('data', id);
    if (loc === undefined) {
      handlers.onFailure([i], id, 'the blob is not in the repository index');
      continue;
    }
    let p = packNumbers.get(loc.packId);
    if (p === undefined) {
      p = packIds.length;
      packIds.push(loc.packId);
      packNumbers.set(loc.packId, p);
    }
    blocks[n] = i;
    pack[n] = p;
    offset[n] = loc.offset;
    length[n] = loc.length;
    uncompressed[n] = loc.uncompressedLength ?? 0;
    n++;
  }
  const order = new Uint32Array(n).map((_, k) => k).sort((a, b) => pack[a]! - pack[b]! || offset[a]! - offset[b]! || blocks[a]! - blocks[b]!);
  return { order, blocks, pack, offset, length, uncompressed, packIds };
}

function* ranges(dir: BlockDirectory, at: ReturnType<typeof locate>, maxRange: number, maxGap: number): Generator<RangeRead> {
  let range: RangeRead | undefined;
  for (const k of at.order) {
    const packId = at.packIds[at.pack[k]!]!;
    const offset = at.offset[k]!;
    const last = range?.blobs[range.blobs.length - 1];
    if (range !== undefined && last !== undefined && range.packId === packId && last.offset === offset) {
      last.blocks.push(at.blocks[k]!);
      continue;
    }
    const end = offset + at.length[k]!;
    const u = at.uncompressed[k]!;
    const plain = u === 0 ? at.length[k]! : u;
    // Bounded by what it holds once opened too: blocks of an image compress well (mostly empty
    // ones by a hundred times), and a range's plaintext is in memory at once.
    const full = range !== undefined && (end - range.offset > maxRange || range.plain + plain > maxRange);
    if (range === undefined || range.packId !== packId || offset - (range.offset + range.length) > maxGap || full) {
      if (range !== undefined) yield range;
      range = { packId, offset, length: 0, plain: 0, blobs: [] };
    }
    range.blobs.push({ id: dir.contentId(at.blocks[k]!), offset, length: at.length[k]!, uncompressedLength: u === 0 ? undefined : u, blocks: [at.blocks[k]!] });
    range.length = end - range.offset;
    range.plain += plain;
  }
  if (range !== undefined) yield range;
}

/** The blob from another copy when the one in this range is damaged, or the reason none works. */
async function fromAnyCopy(repo: Repository, id: string, first: unknown): Promise<Buffer | string> {
  try {
    return await repo.loadBlob('data', id);
  } catch {
    return messageOf(first);
  }
}

export async function fetchBlocks(repo: Repository, dir: BlockDirectory, wanted: BlockBits, handlers: FetchHandlers, options: FetchOptions = {}): Promise<void> {
  const at = locate(repo, dir, wanted, handlers);
  const plan = ranges(dir, at, options.maxRangeBytes ?? DEFAULT_MAX_RANGE, options.maxGap ?? DEFAULT_MAX_GAP);
  await runLimited(
    plan,
    options.concurrency ?? DEFAULT_CONCURRENCY,
    async (range) => {
      let data: Buffer | undefined;
      let readError: unknown;
      try {
        data = await repo.backend.read({ type: 'data', name: range.packId }, { offset: range.offset, length: range.length });
        if (data.length !== range.length) throw new Error(`pack ${range.packId} is shorter than the index says`);
      } catch (err) {
        readError = err;
      }
      await Promise.all(
        range.blobs.map(async (blob) => {
          let plain: Buffer | string;
          try {
            if (data === undefined) throw readError;
            const stored = data.subarray(blob.offset - range.offset, blob.offset - range.offset + blob.length);
            plain = await repo.openBlob(stored, blob.uncompressedLength, blob.id);
          } catch (err) {
            plain = await fromAnyCopy(repo, blob.id, err);
          }
          if (typeof plain === 'string') handlers.onFailure(blob.blocks, blob.id, `pack ${range.packId.slice(0, 8)}: ${plain}`);
          else await handlers.onBlob(blob.blocks, plain);
        }),
      );
    },
    options.signal,
  );
}
