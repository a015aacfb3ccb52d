// restic's authenticated encryption: AES-256-CTR, then Poly1305-AES over the ciphertext.
// Every encrypted file, blob and pack header is IV(16) ‖ ciphertext ‖ tag(16).

import { type Cipher, createCipheriv, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';
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

/**
 * Random bytes for IVs, drawn 16 at a time: one call to the system's generator per 256 IVs instead
 * of one per blob, which a backup of many small files notices.
 */
const ivPool = Buffer.allocUnsafeSlow(4096);
let ivPoolUsed = ivPool.length;

/** Writes a random IV into `target`; all-zero IVs are refused by restic, so they are never produced. */
function writeIv(target: Buffer): void {
  for (;;) {
    if (ivPoolUsed === ivPool.length) {
      randomFillSync(ivPool);
      ivPoolUsed = 0;
    }
    const iv = ivPool.subarray(ivPoolUsed, (ivPoolUsed += IV_SIZE));
    if (isAllZero(iv)) continue;
    iv.copy(target, 0);
    return;
  }
}

/** A random IV. */
export function newIv(): Buffer {
  const iv = Buffer.allocUnsafe(IV_SIZE);
  writeIv(iv);
  return iv;
}

/**
 * Per MAC key: the AES-128 block cipher that makes each one-time key (ECB without padding keeps no
 * state between blocks, so one serves every blob) and a buffer holding clamp(r) ‖ AES-128_k(nonce).
 */
interface MacState {
  readonly aes: Cipher;
  readonly oneTimeKey: Buffer;
}

const macStates = new WeakMap<Buffer, MacState>();

/** Poly1305-AES: the one-time key is clamp(r) ‖ AES-128_k(nonce); valid until the next call. */
function poly1305Key(key: CryptoKey, nonce: Uint8Array): Buffer {
  let state = macStates.get(key.macK);
  if (!state) {
    const aes = createCipheriv('aes-128-ecb', key.macK, null);
    aes.setAutoPadding(false);
    const oneTimeKey = Buffer.alloc(32);
    clampR(key.macR).copy(oneTimeKey, 0);
    state = { aes, oneTimeKey };
    macStates.set(key.macK, state);
  }
  state.aes.update(nonce).copy(state.oneTimeKey, 16);
  return state.oneTimeKey;
}

/** Writes the Poly1305-AES tag of `ciphertext` into `tag` (16 bytes). */
function writeMacTag(tag: Buffer, key: CryptoKey, nonce: Uint8Array, ciphertext: Uint8Array): void {
  sodium.crypto_onetimeauth(tag, ciphertext, poly1305Key(key, nonce));
}

export function macTag(key: CryptoKey, nonce: Uint8Array, ciphertext: Uint8Array): Buffer {
  const tag = Buffer.allocUnsafe(MAC_SIZE);
  writeMacTag(tag, key, nonce, ciphertext);
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
export function sealInPlace(key: CryptoKey, region: Buffer, plaintextLength: number, iv?: Buffer): void {
  if (iv) iv.copy(region, 0);
  else writeIv(region);
  const nonce = region.subarray(0, IV_SIZE);
  const text = region.subarray(IV_SIZE, IV_SIZE + plaintextLength);
  cryptInPlace(createCipheriv('aes-256-ctr', key.encrypt, nonce), text);
  writeMacTag(region.subarray(IV_SIZE + plaintextLength, IV_SIZE + plaintextLength + MAC_SIZE), key, nonce, text);
}

/** The IV and ciphertext of sealed `data` once its tag verifies; throws ERR_MAC when it does not. */
function authenticated(key: CryptoKey, data: Uint8Array): { iv: Uint8Array; ciphertext: Uint8Array } {
  if (data.length < CRYPTO_OVERHEAD) {
    throw new HoldfastError('ERR_CORRUPT', `encrypted data too short (${data.length} bytes)`);
  }
  const iv = data.subarray(0, IV_SIZE);
  const ciphertext = data.subarray(IV_SIZE, data.length - MAC_SIZE);
  const tag = data.subarray(data.length - MAC_SIZE);
  if (!timingSafeEqual(macTag(key, iv, ciphertext), tag)) {
    throw new HoldfastError('ERR_MAC', 'ciphertext verification failed');
  }
  return { iv, ciphertext };
}

/** Verifies the tag, then decrypts. Throws ERR_MAC when the data is not authentic for this key. */
export function open(key: CryptoKey, data: Uint8Array): Buffer {
  const { iv, ciphertext } = authenticated(key, data);
  const ctr = createCipheriv('aes-256-ctr', key.encrypt, iv);
  const plain = ctr.update(ciphertext);
  const tail = ctr.final();
  return tail.length === 0 ? plain : Buffer.concat([plain, tail]);
}

/** Bytes decrypted at once by openInPlace, and encrypted at once by PieceSealer's callers. */
export const CRYPTO_PIECE = 1024 * 1024;

/**
 * open() for big objects: decrypts over the ciphertext a piece at a time, so that only the object
 * and one piece are in memory, not the object twice. Returns the plaintext, a view into `data`.
 */
export function openInPlace(key: CryptoKey, data: Buffer): Buffer {
  const { iv, ciphertext } = authenticated(key, data);
  const text = Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.length);
  cryptInPlace(createCipheriv('aes-256-ctr', key.encrypt, iv), text);
  return text;
}

/**
 * Runs AES-CTR over `text` in place. The cipher returns a new buffer for each call: taken a piece
 * at a time, none of them is bigger than CRYPTO_PIECE, where a whole blob could be 8 MiB.
 */
function cryptInPlace(ctr: ReturnType<typeof createCipheriv>, text: Buffer): void {
  for (let at = 0; at < text.length; at += CRYPTO_PIECE) {
    ctr.update(text.subarray(at, at + CRYPTO_PIECE)).copy(text, at);
  }
}

/**
 * seal() of a plaintext given in pieces, for objects too big to hold twice: `iv`, the ciphertext
 * of each piece as it comes, then `tag()`. Joined, they are what seal() makes of the pieces joined.
 */
export class PieceSealer {
  readonly iv = newIv();
  readonly #ctr: Cipher;
  readonly #mac = Buffer.alloc(sodium.crypto_onetimeauth_STATEBYTES);

  constructor(key: CryptoKey) {
    this.#ctr = createCipheriv('aes-256-ctr', key.encrypt, this.iv);
    sodium.crypto_onetimeauth_init(this.#mac, poly1305Key(key, this.iv));
  }

  update(plaintext: Uint8Array): Buffer {
    const ciphertext = this.#ctr.update(plaintext);
    sodium.crypto_onetimeauth_update(this.#mac, ciphertext);
    return ciphertext;
  }

  tag(): Buffer {
    const tag = Buffer.allocUnsafe(MAC_SIZE);
    sodium.crypto_onetimeauth_final(this.#mac, tag);
    return tag;
  }
}
