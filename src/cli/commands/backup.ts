// holdfast backup: back up files and directories (or stdin) into the repository, incrementally
// against the latest snapshot of the same host and paths. Without -r it uses the default repository.

import { Command } from 'commander';
import { hostname } from 'node:os';
import { backup, type BackupEvent, type BackupResult } from '../../backup/backup.js';
import { scan, type ScanTotals } from '../../backup/scanner.js';
import { prepareDirCache } from '../../backup/survey.js';
import { snapshotPaths } from '../../backup/targets.js';
import { countersSummary } from '../../backup/summary.js';
import { ExitCode, HoldfastError } from '../../errors.js';
import { ExcludeRules } from '../../fs/exclude-rules.js';
import { readFilesFrom } from '../../fs/files-from.js';
import { OpenFileMonitor } from '../../fs/open-files.js';
import { pathBytes } from '../../fs/paths.js';
import { prestartCryptoWorkers } from '../../repository/crypto-pool.js';
import { formatBytes, formatDuration } from '../../ui/format.js';
import type { Output } from '../../ui/output.js';
import { Progress } from '../../ui/progress.js';
import { cacheDirectory, globalsOf, outputOf, repositoryLocation } from '../global-options.js';
import { creatingRepository, withRepository } from '../repository.js';
import { action } from '../run.js';
import { addImageOptions, type ImageCliOptions, runImageBackup, wantsImage } from './backup-image.js';

interface BackupCliOptions {
  exclude: string[];
  iexclude: string[];
  excludeFile: string[];
  iexcludeFile: string[];
  excludeIfPresent: string[];
  excludeCaches: boolean;
  excludeLargerThan?: string;
  oneFileSystem: boolean;
  filesFromVerbatim: string[];
  filesFromRaw: string[];
  tag: string[];
  host?: string;
  parent?: string;
  force: boolean;
  dryRun: boolean;
  filesFrom: string[];
  stdin: boolean;
  stdinFilename: string;
  readConcurrency: number;
  checkpointInterval: string;
  openFileLog: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) throw new HoldfastError('ERR_INVALID_ARGUMENT', `invalid duration "${text}" (examples: 30s, 5m, 1h)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

function summaryLines(r: BackupResult): string[] {
  const c = r.counters;
  const lines = [
    `Files:       ${c.filesNew} new, ${c.filesChanged} changed, ${c.filesUnmodified} unmodified, ${c.filesDeleted} deleted`,
    `Dirs:        ${c.dirsNew} new, ${c.dirsChanged} changed, ${c.dirsUnmodified} unmodified, ${c.dirsDeleted} deleted`,
    `Read:        ${formatBytes(c.bytesRead)} from source files`,
    `Added to the repository: ${formatBytes(c.dataAdded)} (${formatBytes(c.dataAddedPacked)} stored)`,
    '',
    `processed ${c.totalFilesProcessed} files, ${formatBytes(c.totalBytesProcessed)} in ${formatDuration(r.durationMs)}`,
  ];
  if (r.openForWrite.length > 0) {
    lines.push('', `${r.openForWrite.length} file(s) were open for writing by another process while they were read and may be inconsistent:`);
    for (const f of r.openForWrite.slice(0, 20)) lines.push(`  ${f}`);
    if (r.openForWrite.length > 20) lines.push(`  ... and ${r.openForWrite.length - 20} more (see the snapshot or --json)`);
  }
  lines.push(r.snapshotId ? `snapshot ${r.snapshotId.slice(0, 8)} saved` : 'dry run: nothing was saved');
  return lines;
}

function jsonSummary(r: BackupResult): Record<string, unknown> {
  return {
    message_type: 'summary',
    ...countersSummary(r.counters),
    total_duration: r.durationMs / 1000,
    errors: r.counters.errors,
    open_for_write: r.openForWrite,
    parent: r.parent?.id,
    snapshot_id: r.snapshotId,
    dry_run: r.snapshotId === undefined,
  };
}

class BackupProgress {
  readonly totals: ScanTotals = { files: 0, bytes: 0, finished: false };
  private files = 0;
  private bytes = 0;
  private errors = 0;
  private readonly current = new Set<string>();
  /** Whether anyone sees progress: the scan for totals only runs then. */
  readonly wanted: boolean;
  readonly bar: Progress;

  constructor(private readonly out: Output) {
    this.wanted = out.json ? !out.options.quiet : !out.options.quiet && process.stderr.isTTY === true;
    this.bar = new Progress(
      () => ({ done: this.files, total: this.totals.files, bytesDone: this.bytes, bytesTotal: this.totals.bytes, errors: this.errors, current: [...this.current] }),
      {
        json: out.json,
        quiet: out.options.quiet,
        jsonFields: (s) => ({ total_files: s.total, files_done: s.done, total_bytes: s.bytesTotal, bytes_done: s.bytesDone, error_count: s.errors, current_files: s.current }),
      },
    );
  }

  onEvent = (e: BackupEvent): void => {
    // Nobody sees per-file progress with -q or without a terminal: do not pay for it per file.
    if (!this.wanted && (e.type === 'file-start' || e.type === 'file-done' || e.type === 'read')) return;
    switch (e.type) {
      case 'start':
        if (e.parent) this.out.verbose(`using parent snapshot ${e.parent.slice(0, 8)}`);
        if (e.adoptedPacks > 0) this.out.info(`resuming: ${e.adoptedPacks} pack(s) (${formatBytes(e.adoptedBytes)}) from an interrupted backup are reused`);
        break;
      case 'file-start':
        this.current.add(e.path);
        break;
      case 'file-done':
        this.current.delete(e.path);
        this.files++;
        if (!e.read) this.bytes += e.size;
        break;
      case 'read':
        this.bytes += e.bytes;
        break;
      case 'unchanged-dir':
        this.files += e.files;
        this.bytes += e.bytes;
        break;
      case 'warning':
        this.errors++;
        this.current.delete(e.path);
        if (this.out.json) this.out.warn(`${e.path}: ${e.message}`);
        else this.bar.log(`error: ${e.path}: ${e.message}`);
        break;
      case 'checkpoint':
        this.out.verbose(`index checkpoint written (${e.indexFiles} file(s))`);
        break;
    }
  };
}

export function registerBackup(program: Command): void {
  addImageOptions(program.command('backup [paths...]'))
    .description('back up files and directories; without -r into the default repository (created on first use)')
    .option('-e, --exclude <pattern>', 'exclude a pattern (repeatable)', collect, [])
    .option('--iexclude <pattern>', 'like --exclude, ignoring case (repeatable)', collect, [])
    .option('--exclude-file <file>', 'read exclude patterns from a file (repeatable)', collect, [])
    .option('--iexclude-file <file>', 'read case-insensitive exclude patterns from a file (repeatable)', collect, [])
    .option('--exclude-if-present <name[:header]>', 'exclude a directory that contains this file (repeatable)', collect, [])
    .option('--exclude-caches', 'exclude directories with a valid CACHEDIR.TAG', false)
    .option('--exclude-larger-than <size>', 'exclude files larger than this size (e.g. 500M)')
    .option('-x, --one-file-system', 'do not cross file system boundaries', false)
    .option('--tag <tags>', 'add tags to the snapshot, comma separated (repeatable)', collect, [])
    .option('-H, --host <name>', 'host name recorded in the snapshot and used to find the parent')
    .option('--parent <snapshot>', 'compare against this snapshot instead of the latest of the same host and paths')
    .option('-f, --force', 'read every file, even if unchanged since the parent', false)
    .option('-n, --dry-run', 'do everything but store nothing', false)
    .option('--files-from <file>', 'read the paths to back up from a file, one glob per line (repeatable)', collect, [])
    .option('--files-from-verbatim <file>', 'read the paths to back up from a file, one exact path per line (repeatable)', collect, [])
    .option('--files-from-raw <file>', 'read NUL-separated paths to back up from a file (repeatable)', collect, [])
    .option('--stdin', 'back up standard input as one file', false)
    .option('--stdin-filename <name>', 'file name for --stdin', 'stdin')
    .option('--read-concurrency <n>', 'files of 512 KiB or more read at the same time (smaller ones are read alongside)', (v) => Number(v), 1)
    .option('--checkpoint-interval <duration>', 'time between index checkpoints (resume points)', '5m')
    .option('--no-open-file-log', 'do not look for files held open for writing by other processes')
    .action(
      action(async (paths: string[], opts: BackupCliOptions & ImageCliOptions, cmd: Command) => {
        if (wantsImage(opts)) return runImageBackup(paths, opts, cmd);
        const g = globalsOf(cmd);
        const out = outputOf(g);
        const listed: Buffer[] = [];
        for (const f of opts.filesFrom) listed.push(...(await readFilesFrom('glob', f, { warn: (w) => out.warn(`${w.path.toString()}: ${w.message}`) })));
        for (const f of opts.filesFromVerbatim) listed.push(...(await readFilesFrom('verbatim', f)));
        for (const f of opts.filesFromRaw) listed.push(...(await readFilesFrom('raw', f)));
        const allPaths = [...paths, ...listed.map((p) => p.toString())];
        if (opts.stdin && allPaths.length > 0) throw new HoldfastError('ERR_INVALID_ARGUMENT', '--stdin cannot be combined with paths');
        if (!opts.stdin && allPaths.length === 0) throw new HoldfastError('ERR_INVALID_ARGUMENT', 'nothing to back up: give at least one path (or --stdin)');
        const sources = snapshotPaths(allPaths).map(pathBytes);
        const rules = await ExcludeRules.load(opts, { sources, warn: (w) => out.warn(`${w.path.toString()}: ${w.message}`) });
        const controller = new AbortController();
        const progress = new BackupProgress(out);
        const monitor = opts.openFileLog && !opts.stdin ? new OpenFileMonitor(allPaths) : undefined;
        const host = opts.host ?? hostname();
        const cacheDir = cacheDirectory(g);
        // When the survey runs it counts the totals progress shows; otherwise a scan does.
        const totals = progress.wanted ? progress.totals : undefined;
        const dirCache = cacheDir && !opts.stdin ? prepareDirCache(cacheDir, repositoryLocation(g).location, host, allPaths, rules, { force: opts.force, totals }) : undefined;
        // Without a record of an earlier snapshot of these paths, everything is likely to be read:
        // the crypto workers load while the key is derived, ready for the first files. With one,
        // most of the tree is usually reused and they may not be needed at all.
        if (!dirCache?.survey) prestartCryptoWorkers();
        let result: BackupResult;
        try {
          result = await withRepository(
            g,
            {
              lock: opts.dryRun ? 'none' : 'shared',
              createMissing: (location, isDefault) => out.info(creatingRepository(location, isDefault)),
              interrupt: controller,
            },
            async (repo) => {
              if (!opts.stdin && progress.wanted && !dirCache?.survey) void scan(sources, rules, progress.totals, controller.signal).catch(() => undefined);
              await monitor?.start();
              return backup(repo, {
                paths: allPaths,
                rules,
                hostname: host,
                tags: opts.tag.flatMap((t) => t.split(',')).filter((t) => t.length > 0),
                parent: opts.parent,
                force: opts.force,
                dryRun: opts.dryRun,
                excludes: [...opts.exclude, ...opts.iexclude],
                stdin: opts.stdin ? { stream: process.stdin, filename: opts.stdinFilename } : undefined,
                checkpointEvery: parseDuration(opts.checkpointInterval),
                openFiles: monitor,
                dirCache,
                signal: controller.signal,
                onEvent: progress.onEvent,
              });
            },
          );
        } catch (err) {
          progress.bar.stop();
          if (err instanceof HoldfastError && err.code === 'ERR_INTERRUPTED') {
            throw new HoldfastError('ERR_INTERRUPTED', 'backup interrupted; no snapshot was saved. Run the same command again to resume: data already stored is not uploaded again.');
          }
          throw err;
        } finally {
          dirCache?.survey?.stop();
          await monitor?.stop();
        }
        progress.bar.stop();
        if (out.json) out.emit(jsonSummary(result));
        else for (const line of summaryLines(result)) out.info(line);
        return result.counters.errors > 0 ? ExitCode.incomplete : ExitCode.ok;
      }),
    );
}
