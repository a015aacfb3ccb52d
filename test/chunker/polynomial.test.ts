// Tests of the GF(2) polynomial arithmetic, the irreducibility test, config parsing and restic's
// random polynomial generation.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkPolynomial,
  degree,
  formatPolynomial,
  isIrreducible,
  parsePolynomial,
  polyDivMod,
  polyGcd,
  polyMod,
  polyMul,
  polyMulMod,
  randomPolynomial,
} from '../../src/chunker/index.js';
import { HoldfastError } from '../../src/errors.js';

const bin = (s: string): bigint => BigInt('0b' + s);

// The irreducibility table of restic/chunker's own tests.
const KNOWN: [bigint, boolean][] = [
  [0x38f1e565e288dfn, false],
  [0x3da3358b4dc173n, true],
  [0x30a8295b9d5c91n, false],
  [0x255f4350b962cbn, false],
  [0x267f776110a235n, false],
  [0x2f4dae10d41227n, false],
  [0x2482734cacca49n, true],
  [0x312daf4b284899n, false],
  [0x29dfb6553d01d1n, false],
  [0x3548245eb26257n, false],
  [0x3199e7ef4211b3n, false],
  [0x362f39017dae8bn, false],
  [0x200d57aa6fdacbn, false],
  [0x35e0a4efa1d275n, false],
  [0x2ced55b026577fn, false],
  [0x260b012010893dn, false],
  [0x2df29cbcd59e9dn, false],
  [0x3f2ac7488bd429n, false],
  [0x3e5cb1711669fbn, false],
  [0x226d8de57a9959n, false],
  [0x3c8de80aaf5835n, false],
  [0x2026a59efb219bn, false],
  [0x39dfa4d13fb231n, false],
  [0x3143d0464b3299n, false],
];

function assertConfigError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof HoldfastError && err.code === 'ERR_CONFIG' && pattern.test(err.message));
}

test('degree is the highest set bit', () => {
  assert.equal(degree(0n), -1);
  assert.equal(degree(1n), 0);
  for (let i = 0; i < 64; i++) assert.equal(degree(1n << BigInt(i)), i);
  assert.equal(degree(0x3af4b284899n), 41);
  assert.equal(degree(0x3da3358b4dc173n), 53);
});

test('carry-less multiplication, division, modulus and gcd', () => {
  assert.equal(polyMul(bin('101'), bin('11')), bin('1111'));
  assert.equal(polyMul(bin('11'), bin('11')), bin('101'));
  assert.equal(polyMul(0n, 0x3da3358b4dc173n), 0n);
  assert.deepEqual(polyDivMod(bin('101101000'), bin('1010')), [bin('100100'), 0n]);
  assert.deepEqual(polyDivMod(bin('1100001111'), bin('10011')), [bin('110101'), 0n]);
  assert.deepEqual(polyDivMod(10n, 50n), [0n, 10n]);
  assert.equal(polyMod(bin('101101001'), bin('1010')), 1n);
  assert.equal(polyMod(0x8000000000000000n, 0x8000000000000000n), 0n);
  assert.equal(polyGcd(10n, 50n), 2n);
  assert.equal(polyGcd(0n, 1n), 1n);
  assert.equal(polyGcd(bin('1010'), bin('11')), bin('11'));
  assert.throws(() => polyDivMod(5n, 0n), RangeError);
});

test('division and mulmod agree with multiplication on random operands', () => {
  const rand = (bits: number): bigint => BigInt.asUintN(bits, BigInt(Math.floor(Math.random() * 2 ** 32)) * 0x9e3779b97f4a7c15n) | 1n;
  for (let i = 0; i < 200; i++) {
    const a = rand(64);
    const b = rand(1 + (i % 53));
    const [q, r] = polyDivMod(a, b);
    assert.ok(degree(r) < degree(b));
    assert.equal(polyMul(q, b) ^ r, a);
    const m = 0x3da3358b4dc173n;
    assert.equal(polyMulMod(a, b, m), polyMod(polyMul(a, b), m));
  }
});

test("irreducibility matches restic/chunker's table", () => {
  for (const [p, irreducible] of KNOWN) assert.equal(isIrreducible(p), irreducible, formatPolynomial(p));
  assert.equal(isIrreducible(0x3c5a9db876c2bbn), true);
  // Small cases checkable by hand: x^2+x+1 and x^3+x+1 are irreducible, x^2+1 = (x+1)^2 is not.
  assert.equal(isIrreducible(bin('111')), true);
  assert.equal(isIrreducible(bin('1011')), true);
  assert.equal(isIrreducible(bin('101')), false);
});

test('a product of two polynomials is reducible', () => {
  assert.equal(isIrreducible(polyMul(bin('111'), 0x2482734cacca49n >> 2n)), false);
  assert.equal(isIrreducible(polyMul(bin('1011'), 0x1000000000003n)), false);
  // Divisible by x.
  assert.equal(isIrreducible(0x3da3358b4dc172n), false);
});

test('parsePolynomial reads the config spelling and rejects unusable polynomials', () => {
  assert.equal(parsePolynomial('3da3358b4dc173'), 0x3da3358b4dc173n);
  assert.equal(parsePolynomial('3C5A9DB876C2BB'), 0x3c5a9db876c2bbn);
  // 0x3DA3358B4DC173 as a JS number would round to …174: the parse must stay exact.
  assert.equal(formatPolynomial(parsePolynomial('3da3358b4dc173')), '3da3358b4dc173');
  assertConfigError(() => parsePolynomial('0x3da3358b4dc173'), /not a hex number/);
  assertConfigError(() => parsePolynomial(''), /not a hex number/);
  assertConfigError(() => parsePolynomial('12345678901234567'), /not a hex number/);
  assertConfigError(() => parsePolynomial('38f1e565e288df'), /reducible/);
  assertConfigError(() => parsePolynomial('400000000000003'), /degree 58/);
  assertConfigError(() => parsePolynomial('b'), /degree 3/);
  assertConfigError(() => checkPolynomial(0x3143d0464b3299n), /reducible/);
  checkPolynomial(0x2482734cacca49n);
});

test('randomPolynomial gives irreducible polynomials of degree 53 with bit 0 set', () => {
  const seen = new Set<bigint>();
  for (let i = 0; i < 5; i++) {
    const p = randomPolynomial();
    assert.equal(degree(p), 53);
    assert.equal(p & 1n, 1n);
    assert.ok(isIrreducible(p));
    seen.add(p);
  }
  assert.ok(seen.size > 1);
});

test('randomPolynomial reads little-endian uint64s, masks to 54 bits, sets bits 53 and 0', () => {
  const le = (v: bigint): Uint8Array => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    return b;
  };
  // First candidate: bit 0 forced on a reducible value; second: an irreducible one hidden under
  // bits 54..63, which must be masked away; the third must never be read.
  const draws = [le(0x38f1e565e288den), le(0xffc0000000000000n | 0x2482734cacca49n), le(0x3da3358b4dc173n)];
  let calls = 0;
  const p = randomPolynomial((size) => {
    assert.equal(size, 8);
    return draws[calls++];
  });
  assert.equal(p, 0x2482734cacca49n);
  assert.equal(calls, 2);
  // Bit 53 is forced too: a draw of 1 becomes x^53 + 1, which is reducible (x + 1 divides it).
  assert.equal(isIrreducible((1n << 53n) | 1n), false);
});
