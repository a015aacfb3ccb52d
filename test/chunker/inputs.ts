// Test inputs for the chunker (the spec's SHA-256 counter stream, seeded pseudo-random bytes)
// and an independent, slow BigInt model of restic's chunker written from the spec.

import { createCipheriv, createHash } from 'node:crypto';

export const INPUT_A_LENGTH = 3 * 1024 * 1024 + 12345;

/** SHA256(uint64_le(0)) ‖ SHA256(uint64_le(1)) ‖ …, truncated to 3 158 073 bytes. */
export function inputA(): Buffer {
  const out = Buffer.alloc(Math.ceil(INPUT_A_LENGTH / 32) * 32);
  const counter = Buffer.alloc(8);
  for (let i = 0; i * 32 < INPUT_A_LENGTH; i++) {
    counter.writeBigUInt64LE(BigInt(i));
    createHash('sha256').update(counter).digest().copy(out, i * 32);
  }
  return out.subarray(0, INPUT_A_LENGTH);
}

/** `size` bytes of an AES-CTR keystream keyed by `seed`: fast, reproducible, incompressible. */
export function pseudoRandom(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface ModelCut {
  length: number;
  digest: bigint;
}

/**
 * restic's chunker as the spec describes it, with a ring window and a bigint digest reduced by
 * plain polynomial division: far too slow for use, but it shares no code with the kernels.
 * Returns every cut, then the final remainder with the digest at that point.
 */
export function modelChunks(data: Uint8Array, pol: bigint): ModelCut[] {
  const deg = pol.toString(2).length - 1;
  const modAny = (a: bigint): bigint => {
    for (let d = a.toString(2).length - 1; a !== 0n && d >= deg; d = a.toString(2).length - 1) {
      a ^= pol << BigInt(d - deg);
    }
    return a;
  };
  // After appending a byte only the 8 bits above the degree can be set.
  const top = [7, 6, 5, 4, 3, 2, 1, 0].map((s) => ({ bit: BigInt(deg + s), pol: pol << BigInt(s) }));
  const reduce = (a: bigint): bigint => {
    for (const t of top) if ((a >> t.bit) & 1n) a ^= t.pol;
    return a;
  };
  // Removing the oldest byte b of a 64-byte window is adding b·x^(8·63).
  const outTerms = Array.from({ length: 256 }, (_, b) => modAny(BigInt(b) << BigInt(8 * 63)));
  const cuts: ModelCut[] = [];
  let window = new Uint8Array(64);
  let wpos = 0;
  let digest = 0n;
  let count = 0;
  let pre = 0;
  const slide = (b: number): void => {
    digest ^= outTerms[window[wpos]];
    window[wpos] = b;
    wpos = (wpos + 1) % 64;
    digest = reduce((digest << 8n) | BigInt(b));
  };
  const reset = (): void => {
    window = new Uint8Array(64);
    wpos = 0;
    digest = 0n;
    count = 0;
    slide(1);
    pre = 512 * 1024 - 64;
  };
  reset();
  for (const b of data) {
    count++;
    if (pre > 0) {
      pre--;
      continue;
    }
    slide(b);
    if (count >= 512 * 1024 && ((digest & 0xfffffn) === 0n || count >= 8 * 1024 * 1024)) {
      cuts.push({ length: count, digest });
      reset();
    }
  }
  if (count > 0) cuts.push({ length: count, digest });
  return cuts;
}
