// restic's restore --verify: after the restore, every file written is read back from the target
// and each blob's SHA-256 compared with its id, catching what went wrong between us and the disk.

import { stat } from 'node:fs/promises';
import { forEachLimited } from '../concurrency.js';
import { messageOf } from '../errors.js';
import { matchingBlobs } from './existing-files.js';
import type { FileBlob } from './file-blobs.js';
import type { PlannedEntry } from './plan.js';

const CONCURRENCY = 4;

export interface VerifyItem {
  readonly entry: PlannedEntry;
  readonly blobs: readonly FileBlob[];
}

/** Verifies the files; reports each mismatch and returns how many files were read. */
export async function verifyFiles(items: readonly VerifyItem[], onError: (location: string, message: string) => void): Promise<number> {
  let verified = 0;
  await forEachLimited(items, CONCURRENCY, async ({ entry, blobs }) => {
    try {
      const size = (await stat(entry.path)).size;
      if (BigInt(size) !== entry.node.size) {
        onError(entry.location, `verify: size is ${size}, expected ${entry.node.size}`);
        return;
      }
      const bad = (await matchingBlobs(entry.path, blobs)).indexOf(false);
      if (bad >= 0) onError(entry.location, `verify: unexpected content at offset ${blobs[bad]!.offset}`);
      else verified++;
    } catch (err) {
      onError(entry.location, `verify: ${messageOf(err)}`);
    }
  });
  return verified;
}
