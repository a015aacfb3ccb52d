// restic's authenticated encryption: AES-256-CTR, then Poly1305-AES over the ciphertext.
// Every encrypted file, blob and pack header is IV(16) ‖ ciphertext ‖ tag(16).

import { createCipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import sodium from 'sodium-native';
import { HoldfastError } from '../errors.js';

export const IV_SIZE = 16;
export const MAC_SIZE = 16;
/** Bytes an encrypted object has beyond its plaintext. */
export const CRYPTO_OVERHEAD = IV_SIZE + MAC_SIZE;

/** A restic key: 32 bytes for AES-256 and a Poly1305-AES MAC key (k: AES-128 key, r: multiplier). */
export interface CryptoKey {
  readonly encrypt: Buffer;
  readonly macK: Buffer;
  readonly macR: Buffer;
}

// Poly1305 requires r with these bits cleared; restic clamps on use and stores r clamped.
const rClampMask = Buffer.from('ffffff0ffcffff0ffcffff0ffcffff0f', 'hex');

export function clampR(r: Buffer): Buffer {
  const out = Buffer.allocUnsafe(16);
  for (let i = 0; i < 16; i++) out[i] = r[i]! & rClampMask[i]!;
  return out;
}

function isAllZero(b: Buffer): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

export function validateKey(key: CryptoKey): void {
  if (key.encrypt.length !== 32 || key.macK.length !== 16 || key.macR.length !== 16) {
    throw new HoldfastError('ERR_CORRUPT', 'invalid key: wrong key length');
  }
  if (isAllZero(key.encrypt) || isAllZero(key.macK) || isAllZero(key.macR)) {
    throw new HoldfastError('ERR_CORRUPT', 'invalid key: all-zero key material');
  }
}

export function newRandomKey(): CryptoKey {
  const b = randomBytes(64);
  return { encrypt: b.subarray(0, 32), macK: b.subarray(32, 48), macR: clampR(b.subarray(48, 64)) };
}

/** A random IV; all-zero IVs are refused by restic, so they are never produced. */
export function newIv(): Buffer {
  for (;;) {
    const iv = randomBytes(IV_SIZE);
    if (!isAllZero(iv)) return iv;
  }
}

/** Poly1305-AES: the one-time key is clamp(r) ‖ AES-128_k(nonce). */
function poly1305Key(key: CryptoKey, nonce: Uint8Array): Buffer {
  const aes = createCipheriv('aes-128-ecb', key.macK, null);
  aes.setAutoPadding(false);
  const s = aes.update(nonce);
  return Buffer.concat([clampR(key.macR), s]);
}

export function macTag(key: CryptoKey, nonce: Uint8Array, ciphertext: Uint8Array): Buffer {
  const tag = Buffer.allocUnsafe(MAC_SIZE);
  sodium.crypto_onetimeauth(tag, ciphertext, poly1305Key(key, nonce));
  return tag;
}

/** Encrypts and authenticates: returns IV ‖ AES-256-CTR(plaintext) ‖ Poly1305-AES tag. */
export function seal(key: CryptoKey, plaintext: Uint8Array, iv: Buffer = newIv()): Buffer {
  const out = Buffer.allocUnsafe(plaintext.length + CRYPTO_OVERHEAD);
  iv.copy(out, 0);
  const ctr = createCipheriv('aes-256-ctr', key.encrypt, iv);
  const ct = ctr.update(plaintext);
  ct.copy(out, IV_SIZE);
  const tail = ctr.final();
  if (tail.length !== 0) tail.copy(out, IV_SIZE + ct.length);
  const ciphertext = out.subarray(IV_SIZE, IV_SIZE + plaintext.length);
  macTag(key, iv, ciphertext).copy(out, IV_SIZE + plaintext.length);
  return out;
}

/**
 * Seals in place: `region` holds 16 free bytes, then the plaintext, then 16 free bytes; the result
 * (IV ‖ ciphertext ‖ tag) replaces it. Saves a buffer per blob where the caller already has one.
 */
export function sealInPlace(key: CryptoKey, region: Buffer, plaintextLength: number, iv: Buffer = newIv()): void {
  iv.copy(region, 0);
  const text = region.subarray(IV_SIZE, IV_SIZE + plaintextLength);
  const ctr = createCipheriv('aes-256-ctr', key.encrypt, iv);
  ctr.update(text).copy(text);
  macTag(key, iv, text).copy(region, IV_SIZE + plaintextLength);
}

/** Verifies the tag, then decrypts. Throws ERR_MAC when the data is not authentic for this key. */
export function open(key: CryptoKey, data: Uint8Array): Buffer {
  if (data.length < CRYPTO_OVERHEAD) {
    throw new HoldfastError('ERR_CORRUPT', `encrypted data too short (${data.length} bytes)`);
  }
  const iv = data.subarray(0, IV_SIZE);
  const ciphertext = data.subarray(IV_SIZE, data.length - MAC_SIZE);
  const tag = data.subarray(data.length - MAC_SIZE);
  const expected = macTag(key, iv, ciphertext);
  if (!timingSafeEqual(expected, tag)) {
    throw new HoldfastError('ERR_MAC', 'ciphertext verification failed');
  }
  const ctr = createCipheriv('aes-256-ctr', key.encrypt, iv);
  const plain = ctr.update(ciphertext);
  const tail = ctr.final();
  return tail.length === 0 ? plain : Buffer.concat([plain, tail]);
}
