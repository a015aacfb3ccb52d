// Known answers for restic's Poly1305-AES MAC and AES-256-CTR sealing, and tamper detection.

import assert from 'node:assert/strict';
import test from 'node:test';
import { randomBytes } from 'node:crypto';
import { CRYPTO_OVERHEAD, CRYPTO_PIECE, type CryptoKey, macTag, open, openInPlace, PieceSealer, seal } from '../../src/format/crypto.js';
import { HoldfastError } from '../../src/errors.js';

const seq = (from: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => from + i));
const key: CryptoKey = { encrypt: seq(0x00, 32), macK: seq(0x20, 16), macR: seq(0x30, 16) };
const nonce = seq(0x40, 16);

test('seal matches the known-answer vector computed with restic', () => {
  const out = seal(key, Buffer.from('restic-compat-test\n'), nonce);
  assert.equal(
    out.toString('hex'),
    '404142434445464748494a4b4c4d4e4f' + 'd11bac4bfe39978cfc1612a6f976c532c30114' + '48d90b83c69961e1dd3c03f65cf592b2',
  );
});

test('the tag of an empty message is s = AES_k(nonce)', () => {
  assert.equal(macTag(key, nonce, Buffer.alloc(0)).toString('hex'), '859469c07743c7e45b318d151d3d87e9');
  assert.equal(seal(key, Buffer.alloc(0), nonce).length, CRYPTO_OVERHEAD);
});

test('open returns the plaintext and refuses any flipped bit', () => {
  const plain = Buffer.from('some plaintext that spans more than one block of sixteen bytes');
  const sealed = seal(key, plain);
  assert.deepEqual(open(key, sealed), plain);
  for (const pos of [0, 15, 16, 40, sealed.length - 1]) {
    const bad = Buffer.from(sealed);
    bad[pos]! ^= 0x01;
    assert.throws(() => open(key, bad), (e: unknown) => e instanceof HoldfastError && e.code === 'ERR_MAC');
  }
  assert.throws(() => open(key, sealed.subarray(0, 31)), /too short/);
});

test('random IVs differ between seals of the same plaintext', () => {
  const a = seal(key, Buffer.from('x'));
  const b = seal(key, Buffer.from('x'));
  assert.notDeepEqual(a.subarray(0, 16), b.subarray(0, 16));
});

test('sealing in pieces of any size gives the bytes seal gives the whole', () => {
  const plain = randomBytes(2 * CRYPTO_PIECE + 12345);
  for (const cuts of [[], [1], [7, 16, 17], [CRYPTO_PIECE - 3, CRYPTO_PIECE + 100]]) {
    const sealer = new PieceSealer(key);
    const out: Buffer[] = [sealer.iv];
    let from = 0;
    for (const to of [...cuts, plain.length]) {
      out.push(sealer.update(plain.subarray(from, to)));
      from = to;
    }
    out.push(sealer.tag());
    assert.deepEqual(Buffer.concat(out), seal(key, plain, sealer.iv), `cut at ${cuts.join(', ')}`);
  }
});

test('opening in place gives the plaintext in the sealed bytes, and refuses any flipped bit', () => {
  const plain = randomBytes(2 * CRYPTO_PIECE + 999);
  const sealed = seal(key, plain);
  for (const pos of [3, 16 + CRYPTO_PIECE + 5, sealed.length - 2]) {
    const bad = Buffer.from(sealed);
    bad[pos]! ^= 0x01;
    assert.throws(() => openInPlace(key, bad), (e: unknown) => e instanceof HoldfastError && e.code === 'ERR_MAC');
  }
  const opened = openInPlace(key, sealed);
  assert.deepEqual(opened, plain);
  assert.equal(opened.buffer, sealed.buffer, 'no copy of the whole');
});
