// The two per-polynomial lookup tables of the rolling hash, as 32-bit halves of 61-bit entries,
// computed once per polynomial and cached.

import { WINDOW_SIZE } from './params.js';
import { checkPolynomial, degree, polyMod } from './polynomial.js';

export interface RabinTables {
  readonly pol: bigint;
  /** deg(pol) − 8: shifting the digest right by this leaves the byte that must be reduced. */
  readonly polShift: number;
  /** out[b] = b·x^(8·63) mod pol: XORing it removes byte b leaving a 64-byte window. */
  readonly outHi: Uint32Array;
  readonly outLo: Uint32Array;
  /** mod[b] = (b·x^k mod pol) | b·x^k with k = deg(pol): one XOR clears the top byte and reduces. */
  readonly modHi: Uint32Array;
  readonly modLo: Uint32Array;
}

const cache = new Map<bigint, RabinTables>();

const TWO_32 = 1n << 32n;

/** Tables for `pol`; throws ERR_CONFIG if the chunker cannot use it. */
export function tablesFor(pol: bigint): RabinTables {
  let tables = cache.get(pol);
  if (tables === undefined) {
    checkPolynomial(pol);
    tables = build(pol);
    cache.set(pol, tables);
  }
  return tables;
}

function build(pol: bigint): RabinTables {
  const k = BigInt(degree(pol));
  const outShift = BigInt(8 * (WINDOW_SIZE - 1));
  // Both entries are linear in b over GF(2), so eight basis values per table give all 256.
  const outBasis: bigint[] = [];
  const modBasis: bigint[] = [];
  for (let bit = 0n; bit < 8n; bit++) {
    outBasis.push(polyMod(1n << (bit + outShift), pol));
    modBasis.push(polyMod(1n << (bit + k), pol) | (1n << (bit + k)));
  }
  const outHi = new Uint32Array(256);
  const outLo = new Uint32Array(256);
  const modHi = new Uint32Array(256);
  const modLo = new Uint32Array(256);
  for (let b = 0; b < 256; b++) {
    let out = 0n;
    let mod = 0n;
    for (let bit = 0; bit < 8; bit++) {
      if (b & (1 << bit)) {
        out ^= outBasis[bit];
        mod ^= modBasis[bit];
      }
    }
    outHi[b] = Number(out / TWO_32);
    outLo[b] = Number(out % TWO_32);
    modHi[b] = Number(mod / TWO_32);
    modLo[b] = Number(mod % TWO_32);
  }
  return { pol, polShift: degree(pol) - 8, outHi, outLo, modHi, modLo };
}
