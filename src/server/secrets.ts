// Client and admin secrets: random, shown once, stored only as salted scrypt hashes and compared
// in constant time. Secrets are 192 random bits, so scrypt is defence in depth for a stolen file.

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface SecretHash {
  readonly salt: string;
  readonly hash: string;
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** N=2^14, r=8 costs 16 MiB and tens of milliseconds: cheap enough per login, with a cache in front. */
const params = { N: 16384, r: 8, p: 1 } as const;
const HASH_SIZE = 32;

/** URL-safe, so it can sit in the user-info part of a `rest:` URL unescaped. */
export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}

function derive(secret: string, salt: Buffer, p: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, HASH_SIZE, { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashSecret(secret: string): Promise<SecretHash> {
  const salt = randomBytes(16);
  const hash = await derive(secret, salt, params);
  return { salt: salt.toString('base64'), hash: hash.toString('base64'), ...params };
}

export async function verifySecret(secret: string, stored: SecretHash): Promise<boolean> {
  const expected = Buffer.from(stored.hash, 'base64');
  const actual = await derive(secret, Buffer.from(stored.salt, 'base64'), stored);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
