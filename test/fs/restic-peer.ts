// A scratch restic 0.14 repository for the file-system interop tests: back up a directory with
// some options, then read back what restic stored (the paths of a snapshot, its tree blobs).

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createKeyFile, decodeKeyFile, encodeKeyFile, openKeyFile } from '../../src/format/key-file.js';

const run = promisify(execFile);

export interface ResticPeer {
  /** Runs restic on the repository; stdout as bytes. */
  restic(args: readonly string[], options?: { cwd?: string; env?: Record<string, string> }): Promise<Buffer>;
  /** Backs up and returns the new snapshot's id. */
  backup(paths: readonly string[], flags: readonly string[], options?: { cwd?: string; env?: Record<string, string> }): Promise<string>;
  /** The absolute paths of every node in the snapshot. */
  paths(snapshot: string): Promise<string[]>;
  /** The tree blob's exact bytes. */
  blob(id: string): Promise<Buffer>;
  /** The snapshot's root tree id. */
  rootTree(snapshot: string): Promise<string>;
}

/**
 * Replaces the repository's key with one of cheap scrypt parameters: restic calibrates its key
 * to cost about half a second, which every one of the many restic runs of a test would pay.
 */
async function cheapenKey(repo: string, password: string): Promise<void> {
  const keys = join(repo, 'keys');
  const [name] = await readdir(keys);
  const old = decodeKeyFile(await readFile(join(keys, name!)));
  const master = await openKeyFile(old, password);
  if (master === null) throw new Error('restic init wrote a key the password does not open');
  const bytes = encodeKeyFile(await createKeyFile(password, master, old, { N: 1024, r: 8, p: 1 }));
  await writeFile(join(keys, createHash('sha256').update(bytes).digest('hex')), bytes);
  await rm(join(keys, name!));
}

export async function resticPeer(dir: string): Promise<ResticPeer> {
  const baseEnv = {
    ...process.env,
    RESTIC_REPOSITORY: join(dir, 'repo'),
    RESTIC_PASSWORD: 'fs interop',
    RESTIC_CACHE_DIR: join(dir, 'restic-cache'),
  };
  const restic = async (args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Buffer> => {
    const result = await run('restic', ['--no-cache', ...args], {
      env: { ...baseEnv, ...options.env },
      cwd: options.cwd ?? dir,
      encoding: 'buffer',
      maxBuffer: 256 << 20,
    });
    return result.stdout;
  };
  await restic(['init']);
  await cheapenKey(baseEnv.RESTIC_REPOSITORY, baseEnv.RESTIC_PASSWORD);
  return {
    restic,
    async backup(paths, flags, options) {
      const out = await restic(['backup', '--json', ...flags, ...paths], options);
      const lines = out.toString('utf8').trim().split('\n');
      const summary = JSON.parse(lines[lines.length - 1]!) as { message_type: string; snapshot_id: string };
      if (summary.message_type !== 'summary') throw new Error(`unexpected restic output: ${lines[lines.length - 1]}`);
      return summary.snapshot_id;
    },
    async paths(snapshot) {
      const out = (await restic(['ls', '--json', snapshot])).toString('utf8');
      return out
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { struct_type: string; path?: string })
        .filter((item) => item.struct_type === 'node')
        .map((item) => item.path!);
    },
    blob: (id) => restic(['cat', 'blob', id]),
    async rootTree(snapshot) {
      return (JSON.parse((await restic(['cat', 'snapshot', snapshot])).toString('utf8')) as { tree: string }).tree;
    },
  };
}
