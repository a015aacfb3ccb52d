// Restores an image snapshot to a file or block device: size checked before any write, data blocks
// fetched pack by pack and verified, zero and unused blocks left as holes (files) or zeroed (devices).

import { corrupt } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { BlockBits } from './block-bits.js';
import type { BlockDirectory } from './block-directory.js';
import { fetchBlocks } from './block-fetcher.js';
import { growImage, type GrowResult } from './grow.js';
import { findImageSnapshot } from './image-snapshots.js';
import { ImageTarget } from './image-target.js';

export interface RestoreImageOptions {
  /** SNAPSHOT[:NAME]: an id prefix or `latest`, optionally naming the image. */
  readonly snapshot: string;
  readonly target: string;
  /** Host whose latest snapshot `latest` means. */
  readonly host?: string;
  /** Grow the (last) ext2/3/4 file system to fill a larger target. */
  readonly grow?: boolean;
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: RestoreImageEvent) => void;
}

export type RestoreImageEvent =
  | { readonly type: 'start'; readonly snapshotId: string; readonly name: string; readonly generation: number; readonly volumeSize: number; readonly targetSize: number; readonly dataBlocks: number; readonly dataBytes: number }
  | { readonly type: 'block'; readonly count: number; readonly bytes: number }
  | { readonly type: 'error'; readonly message: string };

export interface RestoreImageResult {
  readonly snapshotId: string;
  readonly name: string;
  readonly generation: number;
  readonly volumeSize: number;
  readonly target: string;
  readonly targetKind: 'file' | 'device';
  readonly targetSize: number;
  /** Blocks written from the repository, each verified against its SHA-256. */
  readonly blocksWritten: number;
  /** Unused or all-zero blocks: holes in a file, zeros written to a device. */
  readonly zeroBlocks: number;
  readonly bytesWritten: number;
  readonly grew: GrowResult | undefined;
  readonly durationMs: number;
}

/** Failures named block by block, up to this many in the error message. */
const NAMED_FAILURES = 20;

async function zeroBlocks(target: ImageTarget, dir: BlockDirectory): Promise<number> {
  let count = 0;
  for (let i = 0; i < dir.blockCount; ) {
    if (!dir.isZero(i)) {
      i++;
      continue;
    }
    let end = i;
    while (end < dir.blockCount && dir.isZero(end)) end++;
    const from = i * dir.blockSize;
    const to = Math.min(end * dir.blockSize, dir.volumeSize);
    await target.zero(from, to - from);
    count += end - i;
    i = end;
  }
  return count;
}

export async function restoreImage(repo: Repository, options: RestoreImageOptions): Promise<RestoreImageResult> {
  const startMs = Date.now();
  await repo.loadIndex();
  const image = await findImageSnapshot(repo, options.snapshot, options.host);
  const dir = image.directory;
  const target = await ImageTarget.open(options.target, dir.volumeSize);
  const wanted = new BlockBits(dir.blockCount);
  let dataBytes = 0;
  for (let i = 0; i < dir.blockCount; i++) {
    if (dir.isZero(i)) continue;
    wanted.add(i);
    dataBytes += dir.blockLength(i);
  }
  options.onEvent?.({
    type: 'start',
    snapshotId: image.id,
    name: dir.name,
    generation: dir.generation,
    volumeSize: dir.volumeSize,
    targetSize: target.size,
    dataBlocks: wanted.size(),
    dataBytes,
  });

  const failures: string[] = [];
  let written = 0;
  let bytesWritten = 0;
  let zero = 0;
  try {
    zero = await zeroBlocks(target, dir);
    await fetchBlocks(
      repo,
      dir,
      wanted,
      {
        onBlob: async (blocks, plain) => {
          for (const i of blocks) {
            await target.write(i * dir.blockSize, plain);
            written++;
            bytesWritten += plain.length;
          }
          options.onEvent?.({ type: 'block', count: blocks.length, bytes: plain.length * blocks.length });
        },
        onFailure: (blocks, id, message) => {
          for (const i of blocks) {
            const text = `block ${i} (bytes ${i * dir.blockSize} to ${i * dir.blockSize + dir.blockLength(i)}), blob ${id.slice(0, 12)}: ${message}`;
            failures.push(text);
            options.onEvent?.({ type: 'error', message: text });
          }
        },
      },
      { ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }), ...(options.signal === undefined ? {} : { signal: options.signal }) },
    );
  } finally {
    await target.close();
  }
  if (failures.length > 0) {
    const named = failures.slice(0, NAMED_FAILURES).join('; ');
    const more = failures.length > NAMED_FAILURES ? `; and ${failures.length - NAMED_FAILURES} more` : '';
    throw corrupt(`${failures.length} block(s) of image "${dir.name}" could not be restored and are missing from ${options.target}: ${named}${more}`);
  }
  const grew = options.grow && target.size > dir.volumeSize ? await growImage(options.target, dir.volumeSize, target.size) : undefined;
  return {
    snapshotId: image.id,
    name: dir.name,
    generation: dir.generation,
    volumeSize: dir.volumeSize,
    target: options.target,
    targetKind: target.kind,
    targetSize: target.size,
    blocksWritten: written,
    zeroBlocks: zero,
    bytesWritten,
    grew,
    durationMs: Date.now() - startMs,
  };
}
