// Polynomials over GF(2) as bigint bit sets: the chunker_polynomial of a repository config,
// carry-less arithmetic, Ben-Or's irreducibility test, and restic's way of drawing one at random.

import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { HoldfastError } from '../errors.js';
import { MAX_DEGREE, MIN_DEGREE } from './params.js';

/** restic gives up after this many reducible candidates; reaching it means a broken source. */
const MAX_TRIES = 1_000_000;

/** Degree of `p`: its highest set bit, or -1 for the zero polynomial. */
export function degree(p: bigint): number {
  if (p < 0n) throw new RangeError('a polynomial is a non-negative bit set');
  return p === 0n ? -1 : p.toString(2).length - 1;
}

/** Carry-less product. */
export function polyMul(a: bigint, b: bigint): bigint {
  let product = 0n;
  for (let shift = 0n; b !== 0n; b >>= 1n, shift++) {
    if (b & 1n) product ^= a << shift;
  }
  return product;
}

/** Carry-less division: quotient and remainder of `a / b`. */
export function polyDivMod(a: bigint, b: bigint): [quotient: bigint, remainder: bigint] {
  if (b === 0n) throw new RangeError('division by the zero polynomial');
  const db = degree(b);
  let q = 0n;
  for (let da = degree(a); da >= db; da = degree(a)) {
    const shift = BigInt(da - db);
    q |= 1n << shift;
    a ^= b << shift;
  }
  return [q, a];
}

export function polyMod(a: bigint, m: bigint): bigint {
  return polyDivMod(a, m)[1];
}

export function polyGcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, polyMod(a, b)];
  return a;
}

/** `a * b mod m`, reducing as it goes so that intermediate values stay below x^deg(m). */
export function polyMulMod(a: bigint, b: bigint, m: bigint): bigint {
  const top = 1n << BigInt(degree(m));
  a = polyMod(a, m);
  let product = 0n;
  for (; b !== 0n; b >>= 1n) {
    if (b & 1n) product ^= a;
    a <<= 1n;
    if (a & top) a ^= m;
  }
  return polyMod(product, m);
}

/** (x^(2^k) − x) mod m, by squaring x k times. */
function frobeniusMinusX(k: number, m: bigint): bigint {
  let r = 2n;
  for (let i = 0; i < k; i++) r = polyMulMod(r, r, m);
  return polyMod(r ^ 2n, m);
}

/**
 * Ben-Or: `p` is irreducible when gcd(p, x^(2^i) − x mod p) = 1 for every i up to deg(p)/2.
 * As in restic, polynomials of degree below 2 pass, since the loop is empty.
 */
export function isIrreducible(p: bigint): boolean {
  const half = Math.floor(degree(p) / 2);
  for (let i = 1; i <= half; i++) {
    if (polyGcd(p, frobeniusMinusX(i, p)) !== 1n) return false;
  }
  return true;
}

const validated = new Set<bigint>();

/** Throws ERR_CONFIG unless the chunker can use `p`: degree 8..53 and irreducible. */
export function checkPolynomial(p: bigint): void {
  if (validated.has(p)) return;
  if (p < 0n) throw new HoldfastError('ERR_CONFIG', `chunker polynomial ${p} is negative`);
  const deg = degree(p);
  const shown = formatPolynomial(p);
  if (deg > MAX_DEGREE) {
    throw new HoldfastError('ERR_CONFIG', `chunker polynomial ${shown} has degree ${deg}; at most ${MAX_DEGREE} is supported`);
  }
  if (deg < MIN_DEGREE) {
    throw new HoldfastError('ERR_CONFIG', `chunker polynomial ${shown} has degree ${deg}; at least ${MIN_DEGREE} is needed`);
  }
  if (!isIrreducible(p)) {
    throw new HoldfastError('ERR_CONFIG', `chunker polynomial ${shown} is reducible; the repository config is damaged`);
  }
  validated.add(p);
}

/**
 * Parses the config's `chunker_polynomial`: hex digits without a prefix, as Go's
 * strconv.ParseUint(s, 16, 64) reads them. The number exceeds 2^53, so it must stay a bigint.
 */
export function parsePolynomial(hex: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) {
    throw new HoldfastError('ERR_CONFIG', `chunker polynomial ${JSON.stringify(hex)} is not a hex number of at most 64 bits`);
  }
  const p = BigInt('0x' + hex);
  checkPolynomial(p);
  return p;
}

/** The config's spelling: lowercase hex, no prefix, no padding. */
export function formatPolynomial(p: bigint): string {
  return p.toString(16);
}

/**
 * Draws an irreducible polynomial of degree 53 exactly as restic does: a little-endian uint64
 * from the random source, bits above 53 cleared, bits 53 and 0 set, until one is irreducible.
 */
export function randomPolynomial(randomBytes: (size: number) => Uint8Array = cryptoRandomBytes): bigint {
  const mask = (1n << 54n) - 1n;
  const forced = (1n << 53n) | 1n;
  for (let i = 0; i < MAX_TRIES; i++) {
    const bytes = randomBytes(8);
    const candidate = (new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true) & mask) | forced;
    if (isIrreducible(candidate)) {
      validated.add(candidate);
      return candidate;
    }
  }
  throw new HoldfastError('ERR_INVALID_ARGUMENT', `no irreducible polynomial in ${MAX_TRIES} random candidates; the random source is not random`);
}
