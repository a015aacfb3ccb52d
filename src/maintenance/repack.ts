// Moving the wanted blobs of some packs into new ones: read in few ranges, each verified, stored as
// sealed when the key is the same (prune) or saved anew (copy); what a pack fails to give, from elsewhere.

import { forEachLimited } from '../concurrency.js';
import { HoldfastError, messageOf } from '../errors.js';
import type { PackedBlob } from '../format/pack.js';
import type { Repository } from '../repository/repository.js';
import type { BlobSet } from './blob-set.js';

/** The flags of a BlobSet of used blobs as prune and copy move them along. */
export const BlobState = {
  /** Reached by a snapshot, not yet seen in the index. */
  unseen: 0,
  /** Must be saved into a new pack (unless a kept pack has a copy). */
  repack: 1,
  /** A pack that stays has a copy: nothing to do. */
  kept: 2,
  /** Saved into a new pack by this run. */
  saved: 3,
} as const;

/** Bytes read from a pack in one request: enough for few round trips, little memory. */
const MAX_RUN = 4 * 1024 * 1024;
/** Unwanted bytes between wanted blobs that are read rather than skipped with a new request. */
const MAX_GAP = 1024 * 1024;
/** Packs worked on at the same time. */
const PACKS_AT_ONCE = 2;

export interface RepackOptions {
  /** Save a blob even though the destination's index has it (prune: the old copy is about to go). */
  readonly storeDuplicates: boolean;
  /** Sizes of the packs when known (saves a stat per pack). */
  readonly packSizes?: ReadonlyMap<string, number>;
  /**
   * Which verified blobs to store as they were sealed, without compressing and encrypting them
   * again: only where source and destination share the key (prune), and not for blobs that are
   * to be compressed now. The rest go through saveBlob.
   */
  readonly keepSealed?: (blob: PackedBlob) => boolean;
  /** Called after each pack, with the number of packs done so far. */
  readonly onPack?: (done: number, bytes: number) => void;
}

export interface RepackResult {
  readonly blobs: number;
  /** Plaintext bytes saved. */
  readonly bytes: number;
  /** Index files written for the new packs. */
  readonly indexFiles: string[];
}

/** Splits blobs (sorted by offset) into ranges read with one request each. */
function runs(blobs: readonly PackedBlob[]): PackedBlob[][] {
  const out: PackedBlob[][] = [];
  let run: PackedBlob[] = [];
  for (const b of blobs) {
    const first = run[0];
    const last = run.at(-1);
    if (first && last && (b.offset - (last.offset + last.length) > MAX_GAP || b.offset + b.length - first.offset > MAX_RUN)) {
      out.push(run);
      run = [];
    }
    run.push(b);
  }
  if (run.length > 0) out.push(run);
  return out;
}

/**
 * Saves into `dst` every blob of `wanted` in state `repack` found in `packs` of `src`, setting it
 * to `saved`; blobs a pack fails to give (damaged, or not where its header says) are loaded from
 * any other copy the index knows. Throws if a wanted blob cannot be saved. Ends with `dst.flush()`,
 * so the new packs are stored and indexed when this resolves.
 */
export async function repack(src: Repository, dst: Repository, packs: readonly string[], wanted: BlobSet, options: RepackOptions): Promise<RepackResult> {
  let blobs = 0;
  let bytes = 0;
  let done = 0;
  /** Starts saving a blob once the destination has room; the promise settles when it is in a pack. */
  const save = async (type: PackedBlob['type'], plain: Buffer, id: string): Promise<{ saved: Promise<unknown> }> => {
    await dst.ready();
    blobs++;
    bytes += plain.length;
    return { saved: dst.saveBlob(type, plain, id, options.storeDuplicates) };
  };

  await forEachLimited(packs, PACKS_AT_ONCE, async (packId) => {
    let header: PackedBlob[] = [];
    try {
      header = await src.readPackHeader(packId, options.packSizes?.get(packId));
    } catch {
      // A damaged header: the blobs are looked up by the index below.
    }
    // Claim blobs at once, so that a blob in two packs being repacked is saved only once.
    const mine = header.filter((b) => wanted.flag(b.type, b.id) === BlobState.repack);
    for (const b of mine) wanted.setFlag(b.type, b.id, BlobState.saved);
    const saves: Promise<unknown>[] = [];
    for (const run of runs(mine)) {
      const first = run[0]!;
      const last = run.at(-1)!;
      let data: Buffer;
      try {
        data = await src.backend.read({ type: 'data', name: packId }, { offset: first.offset, length: last.offset + last.length - first.offset });
      } catch {
        for (const b of run) wanted.setFlag(b.type, b.id, BlobState.repack);
        continue;
      }
      for (const b of run) {
        const sealed = data.subarray(b.offset - first.offset, b.offset - first.offset + b.length);
        let plain: Buffer;
        try {
          // Verified here: decrypting and hashing are cheap next to compressing, and this keeps
          // one plaintext at a time instead of a run's worth.
          plain = src.openBlobHere(sealed, b.uncompressedLength, b.id);
        } catch {
          wanted.setFlag(b.type, b.id, BlobState.repack);
          continue;
        }
        if (options.keepSealed?.(b)) {
          await dst.ready();
          dst.saveSealedBlob(b.type, b.id, sealed, b.uncompressedLength, options.storeDuplicates);
          blobs++;
          bytes += plain.length;
        } else {
          saves.push((await save(b.type, plain, b.id)).saved);
        }
      }
    }
    await Promise.all(saves);
    options.onPack?.(++done, bytes);
  });

  // Whatever a pack did not give: any other copy, through the index.
  const failures: string[] = [];
  for (const b of wanted.entries(BlobState.repack)) {
    try {
      await (await save(b.type, await src.loadBlob(b.type, b.id), b.id)).saved;
      wanted.setFlag(b.type, b.id, BlobState.saved);
    } catch (err) {
      failures.push(`${b.type} blob ${b.id}: ${messageOf(err)}`);
    }
  }
  if (failures.length > 0) {
    throw new HoldfastError('ERR_CORRUPT', `${failures.length} blob(s) could not be read for repacking, nothing was removed: ${failures.slice(0, 5).join('; ')}`);
  }
  const indexFiles = await dst.flush();
  return { blobs, bytes, indexFiles };
}
