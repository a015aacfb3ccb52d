// restic's restore --verify: after the restore, every file written is read back from the target
// and each blob's SHA-256 compared with its id, catching what went wrong between us and the disk.

import { stat } from 'node:fs/promises';
import { forEachLimited } from '../concurrency.js';
import { messageOf } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { matchingBlobs } from './existing-files.js';
import { indexedFileBlobs } from './file-blobs.js';
import type { PlannedFile } from './plan.js';

const CONCURRENCY = 4;

/** Verifies the files; reports each mismatch and returns how many files were read. */
export async function verifyFiles(repo: Repository, files: readonly PlannedFile[], onError: (location: string, message: string) => void): Promise<number> {
  let verified = 0;
  await forEachLimited(files, CONCURRENCY, async (file) => {
    try {
      const size = (await stat(file.path)).size;
      if (size !== file.size) {
        onError(file.location, `verify: size is ${size}, expected ${file.size}`);
        return;
      }
      const blobs = indexedFileBlobs(repo, file.content);
      const bad = (await matchingBlobs(file.path, blobs)).indexOf(false);
      if (bad >= 0) onError(file.location, `verify: unexpected content at offset ${blobs[bad]!.offset}`);
      else verified++;
    } catch (err) {
      onError(file.location, `verify: ${messageOf(err)}`);
    }
  });
  return verified;
}
