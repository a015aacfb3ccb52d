// holdfast restore: write a snapshot (SNAPSHOT[:SUBPATH]) into a target directory, with restic's
// include/exclude, overwrite and delete options; every blob is verified as it is written.

import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { ExitCode, HoldfastError } from '../../errors.js';
import { shortId } from '../../format/id.js';
import { tuneMalloc } from '../../malloc-tuning.js';
import type { RestoreEvent, RestoreResult } from '../../restore/restore-events.js';
import { type OverwriteMode, overwriteModes } from '../../restore/restore-options.js';
import { restoreSnapshot } from '../../restore/restorer.js';
import { splitSnapshotSpec } from '../../restore/snapshot-path.js';
import { formatBytes, formatDuration } from '../../ui/format.js';
import type { Output } from '../../ui/output.js';
import { Progress } from '../../ui/progress.js';
import { goTimeString } from '../../ui/restic-text.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';
import { addFilterOptions, collect, type FilterOptions, filterOf } from '../snapshot-filter-options.js';

interface RestoreCliOptions extends FilterOptions {
  target: string;
  include: string[];
  exclude: string[];
  iinclude: string[];
  iexclude: string[];
  overwrite: OverwriteMode;
  delete: boolean;
  dryRun: boolean;
  verify: boolean;
  sparse: boolean;
}

/** Counters for the progress bar and the JSON status lines, kept from the restore's events. */
class RestoreProgress {
  files = 0;
  totalFiles = 0;
  bytes = 0;
  totalBytes = 0;
  errors = 0;
  readonly bar: Progress;

  constructor(private readonly out: Output) {
    this.bar = new Progress(() => ({ done: this.files, total: this.totalFiles, bytesDone: this.bytes, bytesTotal: this.totalBytes, errors: this.errors }), {
      json: out.json,
      quiet: out.options.quiet,
      jsonFields: (s) => ({ total_files: s.total, files_restored: s.done, total_bytes: s.bytesTotal, bytes_restored: s.bytesDone, error_count: s.errors }),
    });
  }

  onEvent = (e: RestoreEvent): void => {
    switch (e.type) {
      case 'totals':
        this.totalFiles = e.files;
        this.totalBytes = e.bytes;
        break;
      case 'item':
        if (e.action !== 'deleted') this.files++;
        if (this.out.options.verbose >= 2) {
          if (this.out.json) this.out.emit({ message_type: 'verbose_status', action: e.action, item: e.location, size: e.size });
          else this.bar.log(`${e.action.padEnd(10)} ${e.location}`);
        }
        break;
      case 'bytes':
        this.bytes += e.bytes;
        break;
      case 'error':
        this.errors++;
        this.bar.clear();
        this.out.error(`ignoring error for ${e.location}: ${e.message}`);
        break;
      case 'warning':
        this.bar.clear();
        this.out.warn(e.message);
        break;
      case 'phase':
        if (e.phase === 'verify') this.out.verbose('verifying restored files');
        break;
    }
  };
}

function summary(out: Output, r: RestoreResult): void {
  const c = r.counts;
  out.emit({
    message_type: 'summary',
    seconds_elapsed: Math.floor(r.durationMs / 1000),
    dry_run: r.dryRun,
    total_files: c.totalFiles + c.dirs,
    files_restored: c.filesRestored + c.filesUpdated,
    files_unchanged: c.filesUnchanged,
    files_skipped: c.filesSkipped,
    files_deleted: c.deleted,
    dirs: c.dirs,
    total_bytes: c.totalBytes,
    bytes_restored: c.bytesRestored,
    bytes_skipped: c.bytesSkipped,
    files_verified: c.filesVerified,
    errors: r.errors.length,
  });
  const verb = r.dryRun ? 'Would restore' : 'Restored';
  let line = `Summary: ${verb} ${c.filesRestored + c.filesUpdated + c.dirs} files/dirs (${formatBytes(c.bytesRestored)}) in ${formatDuration(r.durationMs)}`;
  if (c.filesUnchanged + c.filesSkipped > 0) line += `, skipped ${c.filesUnchanged + c.filesSkipped} files (${formatBytes(c.bytesSkipped)})`;
  out.info(line);
  if (c.deleted > 0) out.info(`${r.dryRun ? 'Would delete' : 'Deleted'} ${c.deleted} files/dirs`);
  if (c.filesVerified > 0) out.info(`verified ${c.filesVerified} files`);
}

export function registerRestore(program: Command): void {
  addFilterOptions(
    program
      .command('restore <snapshot>')
      .description('extract a snapshot (SNAPSHOT[:SUBPATH], "latest" for the newest) into a directory, verifying every blob'),
    ' when the snapshot ID is "latest"',
  )
    .requiredOption('-t, --target <dir>', 'directory to extract data to')
    .option('-i, --include <pattern>', 'include a pattern, exclude everything else (can be given multiple times)', collect, [])
    .option('-e, --exclude <pattern>', 'exclude a pattern (can be given multiple times)', collect, [])
    .option('--iinclude <pattern>', 'same as --include but ignores the casing of filenames', collect, [])
    .option('--iexclude <pattern>', 'same as --exclude but ignores the casing of filenames', collect, [])
    .addOption(new Option('--overwrite <behavior>', 'overwrite behavior for existing files').choices(overwriteModes).default('always'))
    .option('--delete', 'delete files from the target that are not in the snapshot', false)
    .option('--dry-run', 'do not write anything, only report what would be done', false)
    .option('--verify', 'read the restored files back and check their content', false)
    .option('--no-sparse', 'write all-zero blocks instead of leaving holes')
    .action(
      action(async (spec: string, opts: RestoreCliOptions, cmd: Command) => {
        tuneMalloc();
        const g = globalsOf(cmd);
        const out = outputOf(g);
        const { snapshot, subpath } = splitSnapshotSpec(spec);
        const filter = filterOf(opts);
        const progress = new RestoreProgress(out);
        const interrupt = new AbortController();
        let result: RestoreResult;
        try {
          result = await withRepository(g, { lock: 'shared', interrupt }, async (repo) => {
            return restoreSnapshot(
              repo,
              snapshot,
              subpath,
              opts.target,
              {
                filter: { ...filter, paths: filter.paths?.map((p) => resolve(p)) },
                include: opts.include,
                exclude: opts.exclude,
                iinclude: opts.iinclude,
                iexclude: opts.iexclude,
                overwrite: opts.overwrite,
                delete: opts.delete,
                dryRun: opts.dryRun,
                verify: opts.verify,
                sparse: opts.sparse,
                signal: interrupt.signal,
              },
              (e) => {
                if (e.type === 'start') {
                  const sn = e.snapshot.snapshot;
                  const by = sn.username ? ` by ${sn.username}@${sn.hostname ?? ''}` : sn.hostname ? ` on ${sn.hostname}` : '';
                  const part = subpath === '/' ? '' : `:${subpath}`;
                  out.info(`restoring snapshot ${shortId(e.snapshot.id)}${part} of [${sn.paths.join(' ')}] at ${goTimeString(sn.time)}${by} to ${e.target}`);
                }
                progress.onEvent(e);
              },
            );
          });
        } finally {
          progress.bar.stop();
        }
        summary(out, result);
        if (result.errors.length > 0) {
          throw new HoldfastError('ERR_INCOMPLETE', `There were ${result.errors.length} errors`, { exitCode: ExitCode.fatal });
        }
      }),
    );
}

