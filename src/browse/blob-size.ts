// Sizes of a blob from the index: the plaintext length restic reports, and the bytes it occupies
// in its pack (compressed and sealed), which is what deduplication and compression leave to store.

import type { BlobType } from '../format/pack.js';
import type { Repository } from '../repository/repository.js';

/** IV and MAC around every sealed blob. */
const SEAL_OVERHEAD = 32;

export interface BlobSize {
  readonly plaintext: number;
  readonly stored: number;
}

export function blobSize(repo: Repository, type: BlobType, id: string): BlobSize | undefined {
  const loc = repo.index.lookup(type, id);
  if (!loc) return undefined;
  return { plaintext: loc.uncompressedLength ?? loc.length - SEAL_OVERHEAD, stored: loc.length };
}
