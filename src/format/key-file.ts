// Key files (keys/<id>): plaintext JSON holding scrypt parameters and the master key encrypted
// with a key derived from the password. Also the master key's own JSON form.

import { randomBytes, scrypt as scryptCallback } from 'node:crypto';
import { corrupt, HoldfastError } from '../errors.js';
import { clampR, type CryptoKey, open, seal, validateKey } from './crypto.js';
import { formatGoTime, type GoTime, goJsonString, parseGoTime } from './go-json.js';

export interface KdfParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** restic 0.14 calibrates to about 0.5 s; these parameters cost about that here. */
export const defaultKdfParams: KdfParams = { N: 32768, r: 8, p: 5 };

export const SALT_SIZE = 64;

export interface KeyFile {
  readonly created: GoTime;
  readonly username: string;
  readonly hostname: string;
  readonly kdf: 'scrypt';
  readonly params: KdfParams;
  readonly salt: Buffer;
  /** The master key JSON, sealed with the user key. */
  readonly data: Buffer;
}

export function encodeKeyFile(k: KeyFile): Buffer {
  const json =
    `{"created":"${formatGoTime(k.created)}","username":${goJsonString(k.username)},` +
    `"hostname":${goJsonString(k.hostname)},"kdf":"scrypt","N":${k.params.N},"r":${k.params.r},` +
    `"p":${k.params.p},"salt":"${k.salt.toString('base64')}","data":"${k.data.toString('base64')}"}`;
  return Buffer.from(json);
}

function field<T>(obj: Record<string, unknown>, name: string, check: (v: unknown) => v is T, what: string): T {
  const v = obj[name] ?? obj[Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase()) ?? ''];
  if (!check(v)) throw corrupt(`key file: field "${name}" is missing or not ${what}`);
  return v;
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

export function decodeKeyFile(bytes: Buffer): KeyFile {
  let obj: unknown;
  try {
    obj = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw corrupt(`key file is not valid JSON (${(err as Error).message})`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw corrupt('key file is not a JSON object');
  const o = obj as Record<string, unknown>;
  const kdf = field(o, 'kdf', isString, 'a string');
  if (kdf !== 'scrypt') throw corrupt(`key file uses unsupported KDF "${kdf}"`);
  const createdText = o['created'];
  let created: GoTime = { ns: 0n, offsetMinutes: 0 };
  if (typeof createdText === 'string') {
    try {
      created = parseGoTime(createdText);
    } catch {
      // The creation time is informational; a malformed one does not make the key unusable.
    }
  }
  const salt = Buffer.from(field(o, 'salt', isString, 'base64'), 'base64');
  if (salt.length !== SALT_SIZE) throw corrupt(`key file salt has ${salt.length} bytes, expected ${SALT_SIZE}`);
  return {
    created,
    username: typeof o['username'] === 'string' ? o['username'] : '',
    hostname: typeof o['hostname'] === 'string' ? o['hostname'] : '',
    kdf: 'scrypt',
    params: {
      N: field(o, 'N', isPositiveInt, 'a positive integer'),
      r: field(o, 'r', isPositiveInt, 'a positive integer'),
      p: field(o, 'p', isPositiveInt, 'a positive integer'),
    },
    salt,
    data: Buffer.from(field(o, 'data', isString, 'base64'), 'base64'),
  };
}

function scrypt(password: string, salt: Buffer, params: KdfParams): Promise<Buffer> {
  // Node's default maxmem (32 MiB) is below what restic's parameters need (128·N·r bytes).
  const maxmem = 128 * params.N * params.r * 2 + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scryptCallback(password, salt, 64, { N: params.N, r: params.r, p: params.p, maxmem }, (err, key) =>
      err ? reject(new HoldfastError('ERR_CONFIG', `scrypt failed: ${err.message}`)) : resolve(key),
    );
  });
}

/** The user key: scrypt(password, salt) split into AES key ‖ MAC k ‖ MAC r. */
export async function deriveUserKey(password: string, salt: Buffer, params: KdfParams): Promise<CryptoKey> {
  const k = await scrypt(password, salt, params);
  return { encrypt: k.subarray(0, 32), macK: k.subarray(32, 48), macR: k.subarray(48, 64) };
}

export function encodeMasterKey(key: CryptoKey): Buffer {
  return Buffer.from(
    `{"mac":{"k":"${key.macK.toString('base64')}","r":"${key.macR.toString('base64')}"},` +
      `"encrypt":"${key.encrypt.toString('base64')}"}`,
  );
}

export function decodeMasterKey(bytes: Buffer): CryptoKey {
  let obj: { mac?: { k?: unknown; r?: unknown }; encrypt?: unknown };
  try {
    obj = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corrupt('master key is not valid JSON');
  }
  const k = obj?.mac?.k;
  const r = obj?.mac?.r;
  const e = obj?.encrypt;
  if (typeof k !== 'string' || typeof r !== 'string' || typeof e !== 'string') throw corrupt('master key is incomplete');
  const key = { encrypt: Buffer.from(e, 'base64'), macK: Buffer.from(k, 'base64'), macR: clampR(Buffer.from(r, 'base64')) };
  validateKey(key);
  return key;
}

/**
 * Opens a key file with a password. Returns null when the password does not fit this key file
 * (the MAC fails), so the caller can try the next one.
 */
export async function openKeyFile(file: KeyFile, password: string): Promise<CryptoKey | null> {
  const userKey = await deriveUserKey(password, file.salt, file.params);
  let plain: Buffer;
  try {
    plain = open(userKey, file.data);
  } catch (err) {
    if (err instanceof HoldfastError && err.code === 'ERR_MAC') return null;
    throw err;
  }
  return decodeMasterKey(plain);
}

export async function createKeyFile(
  password: string,
  master: CryptoKey,
  who: { username: string; hostname: string; created: GoTime },
  params: KdfParams = defaultKdfParams,
): Promise<KeyFile> {
  const salt = randomBytes(SALT_SIZE);
  const userKey = await deriveUserKey(password, salt, params);
  return { ...who, kdf: 'scrypt', params, salt, data: seal(userKey, encodeMasterKey(master)) };
}
