// Files of the local cache: derived data a command can do without, sealed with the repository's
// master key (it may sit on a less protected disk than the data it describes) and replaced
// atomically. Reading one that is missing, damaged or from another repository gives nothing.

import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CRYPTO_PIECE, type CryptoKey, openInPlace, PieceSealer } from '../format/crypto.js';

/** The local cache's directory unless an option names one: $HOLDFAST_CACHE_DIR, else $XDG_CACHE_HOME/holdfast (restic: $XDG_CACHE_HOME/restic). */
export function cacheDirOf(env: NodeJS.ProcessEnv): string {
  return env.HOLDFAST_CACHE_DIR || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'holdfast');
}

/** A cache file for what `parts` name (a repository location, a host...); its name reveals none of them. */
export function cacheFile(cacheDir: string, kind: string, ...parts: string[]): string {
  return join(cacheDir, kind, createHash('sha256').update(parts.join('\0')).digest('hex'));
}

export async function readSealedFile(file: string, key: CryptoKey): Promise<Buffer | undefined> {
  try {
    return openInPlace(key, await readFile(file));
  } catch {
    return undefined;
  }
}

/**
 * Replaces the file atomically: a process killed meanwhile leaves the old one or the new one. The
 * plaintext may come in parts (the master index's arrays): it is sealed and written a piece at a
 * time, never copied whole, so a big cache file costs no memory at the end of a backup.
 */
export async function writeSealedFile(file: string, key: CryptoKey, plaintext: Uint8Array | readonly Uint8Array[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  const parts = plaintext instanceof Uint8Array ? [plaintext] : plaintext;
  const sealer = new PieceSealer(key);
  async function* sealed(): AsyncGenerator<Buffer> {
    yield sealer.iv;
    for (const part of parts) {
      for (let at = 0; at < part.length; at += CRYPTO_PIECE) yield sealer.update(part.subarray(at, at + CRYPTO_PIECE));
    }
    yield sealer.tag();
  }
  try {
    await pipeline(sealed(), createWriteStream(temp, { mode: 0o600 }));
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
