// holdfast copy: copy snapshots from another repository (--from-repo and its password options, as
// restic 0.14 names them) into this one. Both repositories get a shared lock.

import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { HoldfastError, invalidArgument, messageOf } from '../../errors.js';
import { shortId } from '../../format/id.js';
import { type CopyEvent, copySnapshots } from '../../maintenance/copy.js';
import { PhaseProgress } from '../../ui/phase-progress.js';
import { goTimeString } from '../../ui/restic-text.js';
import { type GlobalOptions, globalsOf, outputOf } from '../global-options.js';
import { promptHidden, readPassword } from '../password.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';
import { addFilterOptions, type FilterOptions, filterOf } from '../snapshot-filter-options.js';

interface CopyCliOptions extends FilterOptions {
  fromRepo?: string;
  fromRepositoryFile?: string;
  fromPasswordFile?: string;
  fromPasswordCommand?: string;
  fromKeyHint?: string;
}

/** HOLDFAST_FROM_*, or restic's RESTIC_FROM_* names. */
function env(name: string): string | undefined {
  return process.env[`HOLDFAST_FROM_${name}`] ?? process.env[`RESTIC_FROM_${name}`];
}

async function sourceLocation(o: CopyCliOptions): Promise<string> {
  const repo = o.fromRepo ?? env('REPOSITORY');
  const file = o.fromRepositoryFile ?? env('REPOSITORY_FILE');
  if (repo && file) throw invalidArgument('Options --from-repo and --from-repository-file are mutually exclusive, please specify only one');
  if (repo) return repo;
  if (!file) throw invalidArgument('Please specify a source repository location (--from-repo or --from-repository-file)');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new HoldfastError('ERR_INVALID_ARGUMENT', `cannot read repository file ${file}: ${messageOf(err)}`);
  }
}

/** The source's password: its own file, command or variable, never the destination's. */
async function sourcePassword(o: CopyCliOptions): Promise<string> {
  const passwordFile = o.fromPasswordFile ?? env('PASSWORD_FILE');
  const passwordCommand = o.fromPasswordCommand ?? env('PASSWORD_COMMAND');
  if (passwordFile || passwordCommand) return readPassword({ passwordFile, passwordCommand });
  return env('PASSWORD') ?? promptHidden('enter password for source repository: ');
}

export function registerCopy(program: Command): void {
  const cmd = program
    .command('copy [ids...]')
    .description('copy snapshots from another repository (--from-repo) into this one; trees are copied as stored, never re-encoded')
    .option('--from-repo <repository>', 'source repository to copy snapshots from (env HOLDFAST_FROM_REPOSITORY)')
    .option('--from-repository-file <file>', 'file from which to read the source repository location (env HOLDFAST_FROM_REPOSITORY_FILE)')
    .option('--from-password-file <file>', 'file to read the source repository password from (env HOLDFAST_FROM_PASSWORD_FILE)')
    .option('--from-password-command <command>', 'shell command to obtain the source repository password from (env HOLDFAST_FROM_PASSWORD_COMMAND)')
    .option('--from-key-hint <key>', 'key ID of key to try decrypting the source repository first');
  addFilterOptions(cmd, ', when no snapshot ID is given').action(
    action(async (ids: string[], opts: CopyCliOptions, command: Command) => {
      const g = globalsOf(command);
      const out = outputOf(g);
      const srcG: GlobalOptions = { ...g, repo: await sourceLocation(opts) };
      // --no-lock applies to the source only, as in restic: the destination is written.
      const dstG: GlobalOptions = { ...g, lock: true };
      const progress = new PhaseProgress(out);
      const onEvent = (e: CopyEvent) => {
        if (e.type === 'snapshot') {
          out.info(`\nsnapshot ${shortId(e.entry.id)} of [${e.entry.snapshot.paths.join(' ')}] at ${goTimeString(e.entry.snapshot.time)})`);
          out.info('  copy started, this may take a while...');
        } else if (e.type === 'skipped') {
          out.info(`\nskipping source snapshot ${shortId(e.entry.id)}, was already copied to snapshot ${shortId(e.existing)}`);
        } else if (e.type === 'blobs') {
          out.verbose(`  ${e.trees} trees and ${e.dataBlobs} data blobs to copy from ${e.packs} packs`);
          progress.start('packs copied', e.packs);
        } else if (e.type === 'progress') {
          progress.update(e.done, e.total, e.bytes);
        } else if (e.type === 'copied') {
          progress.end();
          out.info(`snapshot ${shortId(e.id)} saved`);
        }
      };
      await withRepository(dstG, { lock: 'shared' }, (dst) =>
        withRepository(srcG, { lock: 'shared', password: () => sourcePassword(opts), keyHint: opts.fromKeyHint }, async (src) => {
          try {
            const result = await copySnapshots(src, dst, { snapshotIds: ids, filter: filterOf(opts), warn: (m) => out.warn(m) }, onEvent);
            out.emit({ message_type: 'summary', copied: result.copied, skipped: result.skipped, blobs: result.blobs, bytes: result.bytes });
          } finally {
            progress.end();
          }
        }),
      );
    }),
  );
}
