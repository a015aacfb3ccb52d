// Options every command accepts (restic's names where restic has them), and the per-invocation
// context built from them: output mode, repository location, password sources.

import { Command, Option } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { cacheDirOf } from '../repository/local-cache.js';
import { Output } from '../ui/output.js';

export interface GlobalOptions {
  repo?: string;
  passwordFile?: string;
  passwordCommand?: string;
  json: boolean;
  quiet: boolean;
  verbose: number;
  cacert?: string;
  compression: string;
  packSize?: number;
  lock: boolean;
  cache: boolean;
  cacheDir?: string;
}

export function addGlobalOptions(program: Command): void {
  program
    .option('-r, --repo <location>', 'repository: a path or rest:http(s)://user:secret@host:port/client/ (env HOLDFAST_REPOSITORY)')
    .option('--password-file <file>', 'read the repository password from a file (env HOLDFAST_PASSWORD_FILE)')
    .option('--password-command <command>', 'run a shell command that prints the password (env HOLDFAST_PASSWORD_COMMAND)')
    .option('--json', 'write JSON lines instead of text', false)
    .option('-q, --quiet', 'print nothing but errors', false)
    .option('-v, --verbose', 'print more detail (repeat for more)', (_v: string, prev: number) => prev + 1, 0)
    .option('--cacert <file>', 'trust this PEM certificate for https repositories (env HOLDFAST_CACERT)')
    .addOption(
      new Option('--compression <mode>', 'compression of data blobs (env HOLDFAST_COMPRESSION)')
        .choices(['auto', 'off', 'fastest', 'better', 'max'])
        .default(process.env.HOLDFAST_COMPRESSION ?? process.env.RESTIC_COMPRESSION ?? 'auto'),
    )
    .option('--pack-size <MiB>', 'target pack size in MiB, 4 to 128 (env HOLDFAST_PACK_SIZE)', (v) => Number(v))
    .option('--no-lock', 'do not lock the repository (only for read-only commands on read-only media)')
    .option('--cache-dir <dir>', 'directory of the local cache (env HOLDFAST_CACHE_DIR; default $XDG_CACHE_HOME/holdfast)')
    .option('--no-cache', 'do not use the local cache (a backup then walks every directory)');
}

export function globalsOf(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function outputOf(g: GlobalOptions): Output {
  return new Output({ json: g.json, quiet: g.quiet, verbose: g.verbose });
}

/** The default repository for a user who configured none: $XDG_DATA_HOME/holdfast/repository. */
export function defaultRepositoryLocation(): string {
  const dataHome = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(dataHome, 'holdfast', 'repository');
}

/** Where the local cache lives, or undefined with --no-cache. */
export function cacheDirectory(g: GlobalOptions): string | undefined {
  if (!g.cache) return undefined;
  return g.cacheDir ?? cacheDirOf(process.env);
}

/** The repository named by -r, the environment, or the default; `explicit` says which. */
export function repositoryLocation(g: GlobalOptions): { location: string; explicit: boolean } {
  const named = g.repo ?? process.env.HOLDFAST_REPOSITORY ?? process.env.RESTIC_REPOSITORY;
  if (named) return { location: named, explicit: true };
  return { location: defaultRepositoryLocation(), explicit: false };
}
