// The repository config: version, id and chunker polynomial. Encrypted but never compressed, and
// its plaintext has no version prefix even in version 2.

import { corrupt } from '../errors.js';
import { isId } from './id.js';

export interface RepoConfig {
  readonly version: 1 | 2;
  readonly id: string;
  /** A degree-53 irreducible polynomial over GF(2); 54 bits, so it does not fit a JS number. */
  readonly chunkerPolynomial: bigint;
}

export function encodeConfig(c: RepoConfig): Buffer {
  return Buffer.from(
    `{"version":${c.version},"id":"${c.id}","chunker_polynomial":"${c.chunkerPolynomial.toString(16)}"}`,
  );
}

export function decodeConfig(bytes: Buffer): RepoConfig {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corrupt('config is not valid JSON');
  }
  const version = obj['version'];
  if (version !== 1 && version !== 2) {
    throw corrupt(`unsupported repository version ${JSON.stringify(version)} (holdfast reads versions 1 and 2)`);
  }
  const id = obj['id'];
  if (typeof id !== 'string' || !isId(id)) throw corrupt('config has no valid repository id');
  const pol = obj['chunker_polynomial'];
  if (typeof pol !== 'string' || !/^[0-9a-fA-F]{1,16}$/.test(pol)) throw corrupt('config has no valid chunker polynomial');
  return { version, id, chunkerPolynomial: BigInt('0x' + pol) };
}
