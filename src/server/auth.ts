// Who is asking: Basic credentials checked against the accounts. Unknown names cost the same scrypt
// work as wrong secrets, so a 401 says nothing about which clients exist; successes are cached briefly.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ADMIN_USER, type Accounts, type ClientAccount } from './accounts.js';
import { type SecretHash, verifySecret } from './secrets.js';
import { Semaphore } from './semaphore.js';

export type Principal = { readonly kind: 'admin' } | { readonly kind: 'client'; readonly name: string; readonly account: ClientAccount };

export interface AuthOptions {
  /** How long a verified secret is trusted without scrypt (rest-server: one minute). */
  readonly cacheTtlMs?: number;
  readonly cacheMax?: number;
  readonly maxConcurrentHashes?: number;
}

interface CacheEntry {
  readonly digest: Buffer;
  readonly expires: number;
}

export class Authenticator {
  private accounts: Accounts;
  private readonly cache = new Map<string, CacheEntry>();
  /** Keys the cached digests, so the cache never holds anything a secret could be recovered from. */
  private readonly cacheKey = randomBytes(32);
  private readonly decoy: SecretHash;
  private readonly hashing: Semaphore;
  private readonly ttl: number;
  private readonly cacheMax: number;

  constructor(accounts: Accounts, options: AuthOptions = {}) {
    this.accounts = accounts;
    this.ttl = options.cacheTtlMs ?? 60_000;
    this.cacheMax = options.cacheMax ?? 1024;
    this.hashing = new Semaphore(options.maxConcurrentHashes ?? 2);
    // Same parameters as a real hash, so verifying against it costs the same.
    this.decoy = { ...accounts.admin, salt: randomBytes(16).toString('base64'), hash: randomBytes(32).toString('base64') };
  }

  /** New accounts take effect at once: removed clients and changed secrets lose their cache entries. */
  setAccounts(accounts: Accounts): void {
    this.accounts = accounts;
    this.cache.clear();
  }

  /** The principal for an Authorization header, or null for missing or wrong credentials. */
  async authenticate(header: string | undefined): Promise<Principal | null> {
    const creds = parseBasic(header);
    if (!creds) return null;
    const { user, secret } = creds;
    const accounts = this.accounts;
    const account = Object.hasOwn(accounts.clients, user) ? accounts.clients[user] : undefined;
    const stored = user === ADMIN_USER ? accounts.admin : (account?.secret ?? this.decoy);
    const ok = this.cached(user, secret) || (await this.verify(user, secret, stored));
    if (!ok || stored === this.decoy) return null;
    return user === ADMIN_USER ? { kind: 'admin' } : { kind: 'client', name: user, account: account! };
  }

  private digest(user: string, secret: string): Buffer {
    return createHmac('sha256', this.cacheKey).update(user).update('\0').update(secret).digest();
  }

  private cached(user: string, secret: string): boolean {
    const entry = this.cache.get(user);
    if (!entry) return false;
    if (entry.expires < Date.now()) {
      this.cache.delete(user);
      return false;
    }
    return timingSafeEqual(entry.digest, this.digest(user, secret));
  }

  private async verify(user: string, secret: string, stored: SecretHash): Promise<boolean> {
    const accountsAtStart = this.accounts;
    const ok = await this.hashing.run(() => verifySecret(secret, stored));
    // A reload during the check may have changed this secret: cache only what is still current.
    if (ok && stored !== this.decoy && this.accounts === accountsAtStart) {
      if (this.cache.size >= this.cacheMax) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(user, { digest: this.digest(user, secret), expires: Date.now() + this.ttl });
    }
    return ok;
  }
}

function parseBasic(header: string | undefined): { user: string; secret: string } | null {
  if (!header) return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  return { user: text.slice(0, colon), secret: text.slice(colon + 1) };
}
