// The one structural check a server without keys can make on a pack: its last 4 bytes give the
// length of the encrypted header, which must be plausible for the file (restic's reader limits).

import { CRYPTO_OVERHEAD } from '../format/crypto.js';
import { MAX_HEADER_SIZE, TRAILER_SIZE } from '../format/pack.js';

/** Null when sane, else why not. `trailer` is the file's last 4 bytes (fewer if the file is shorter). */
export function packTrailerProblem(trailer: Buffer, fileSize: number): string | null {
  if (fileSize < TRAILER_SIZE + CRYPTO_OVERHEAD) return `pack of ${fileSize} bytes is too short to hold a header`;
  const headerLength = trailer.readUInt32LE(0);
  if (headerLength < CRYPTO_OVERHEAD) return `pack header length ${headerLength} is below the minimum ${CRYPTO_OVERHEAD}`;
  if (headerLength > MAX_HEADER_SIZE) return `pack header length ${headerLength} exceeds restic's limit of ${MAX_HEADER_SIZE}`;
  if (headerLength > fileSize - TRAILER_SIZE) return `pack header length ${headerLength} exceeds the file (${fileSize} bytes)`;
  return null;
}
