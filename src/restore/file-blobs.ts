// Where each blob of a file goes: its offset in the file follows from the plaintext lengths the
// index records for the blobs before it, so a restore can write blobs in any order.

import { CRYPTO_OVERHEAD } from '../format/crypto.js';
import type { PackedBlob } from '../format/pack.js';
import type { BlobLocation } from '../repository/master-index.js';
import type { Repository } from '../repository/repository.js';

export interface FileBlob {
  readonly id: string;
  /** Byte offset of the blob's plaintext in the file. */
  readonly offset: number;
  /** Plaintext length. */
  readonly length: number;
  readonly location: BlobLocation;
}

/** The plaintext length of a blob: recorded when compressed, else the stored length less IV and MAC. */
export function plaintextLength(loc: Pick<PackedBlob, 'length' | 'uncompressedLength'>): number {
  return loc.uncompressedLength ?? loc.length - CRYPTO_OVERHEAD;
}

/** The blobs of a file's content in order, or the id of the first blob the index does not know. */
export function fileBlobs(repo: Repository, content: readonly string[]): FileBlob[] | { missing: string } {
  const blobs: FileBlob[] = [];
  let offset = 0;
  for (const id of content) {
    const location = repo.index.lookup('data', id);
    if (!location) return { missing: id };
    const length = plaintextLength(location);
    blobs.push({ id, offset, length, location });
    offset += length;
  }
  return blobs;
}

/** The blobs of content whose blobs were all found in the index before (the index does not change). */
export function indexedFileBlobs(repo: Repository, content: readonly string[]): FileBlob[] {
  const blobs = fileBlobs(repo, content);
  if (!Array.isArray(blobs)) throw new Error(`data blob ${blobs.missing} is not in the index`);
  return blobs;
}
