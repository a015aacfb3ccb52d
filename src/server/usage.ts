// Bytes and files each client's repository holds, tallied from disk at start and kept current on
// every write and delete. Uploads reserve their size first, so concurrent ones cannot overshoot a quota.

import type { Dirent } from 'node:fs';
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isSystemError } from '../errors.js';
import { isUploadTemp } from './upload.js';

export interface ClientUsage {
  readonly bytes: number;
  readonly files: number;
  /** Bytes of uploads in progress that are counted against the quota already. */
  readonly reserved: number;
}

interface MutableUsage {
  bytes: number;
  files: number;
  reserved: number;
}

export class UsageLedger {
  private readonly usage = new Map<string, MutableUsage>();

  /**
   * Counts a repository's files. Temp files left by uploads that a crash interrupted are removed:
   * no upload is in progress while a client is being tallied, and no temp file was ever acknowledged.
   */
  async tally(client: string, repoDir: string): Promise<ClientUsage> {
    const u: MutableUsage = { bytes: 0, files: 0, reserved: 0 };
    await walk(repoDir, async (path, name) => {
      if (isUploadTemp(name)) {
        await unlink(path).catch(() => undefined);
        return;
      }
      const s = await stat(path).catch(() => null);
      if (s?.isFile()) {
        u.bytes += s.size;
        u.files += 1;
      }
    });
    this.usage.set(client, u);
    return { ...u };
  }

  has(client: string): boolean {
    return this.usage.has(client);
  }

  get(client: string): ClientUsage {
    return { ...this.entry(client) };
  }

  clients(): string[] {
    return [...this.usage.keys()];
  }

  drop(client: string): void {
    this.usage.delete(client);
  }

  /** Reserves room for `bytes` more; false when that would pass the quota. */
  reserve(client: string, bytes: number, quota: number | null): boolean {
    const u = this.entry(client);
    if (quota !== null && u.bytes + u.reserved + bytes > quota) return false;
    u.reserved += bytes;
    return true;
  }

  release(client: string, bytes: number): void {
    const u = this.usage.get(client);
    if (u) u.reserved = Math.max(0, u.reserved - bytes);
  }

  /** A reserved upload became a file. */
  stored(client: string, reservedBytes: number, size: number): void {
    const u = this.entry(client);
    u.reserved = Math.max(0, u.reserved - reservedBytes);
    u.bytes += size;
    u.files += 1;
  }

  removed(client: string, size: number): void {
    const u = this.entry(client);
    u.bytes = Math.max(0, u.bytes - size);
    u.files = Math.max(0, u.files - 1);
  }

  private entry(client: string): MutableUsage {
    let u = this.usage.get(client);
    if (!u) {
      u = { bytes: 0, files: 0, reserved: 0 };
      this.usage.set(client, u);
    }
    return u;
  }
}

async function walk(dir: string, visit: (path: string, name: string) => Promise<void>): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isSystemError(err, 'ENOENT', 'ENOTDIR')) return;
    throw err;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) await walk(path, visit);
    else if (e.isFile()) await visit(path, e.name);
  }
}
