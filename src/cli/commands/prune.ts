// holdfast prune: remove data no snapshot uses, with restic 0.14's options and statistics. The
// options and the run are exported for `forget --prune`, which prunes in the same session.

import type { Command } from 'commander';
import { invalidArgument, messageOf } from '../../errors.js';
import { shortId } from '../../format/id.js';
import { parseSize } from '../../size.js';
import { parseMaxUnused, prune, type PruneEvent, type PruneOptions, type PruneResult, type PruneStats } from '../../maintenance/prune.js';
import type { Repository } from '../../repository/repository.js';
import type { Output } from '../../ui/output.js';
import { PhaseProgress } from '../../ui/phase-progress.js';
import { goFixed, resticBytes } from '../../ui/restic-text.js';
import { type GlobalOptions, globalsOf, outputOf } from '../global-options.js';
import { repositoryOptions, withRepository } from '../repository.js';
import { action } from '../run.js';

export interface PruneCliOptions {
  maxUnused: string;
  maxRepackSize?: string;
  repackCacheableOnly?: boolean;
  repackSmall?: boolean;
  repackUncompressed?: boolean;
}

/** The options restic's prune and forget --prune share. */
export function addPruneOptions(cmd: Command): Command {
  return cmd
    .option('--max-unused <limit>', "tolerate given limit of unused data (absolute value in bytes with suffixes k/K, m/M, g/G, t/T, a value in % or the word 'unlimited')", '5%')
    .option('--max-repack-size <size>', 'maximum size to repack (allowed suffixes: k/K, m/M, g/G, t/T)')
    .option('--repack-cacheable-only', 'only repack packs which are cacheable')
    .option('--repack-small', 'repack pack files below 80% of target pack size')
    .option('--repack-uncompressed', 'repack all uncompressed data');
}

function bytesOf(flag: string, text: string): number {
  try {
    return Number(parseSize(text.trim()));
  } catch (err) {
    throw invalidArgument(`invalid number of bytes ${JSON.stringify(text)} for ${flag}: ${messageOf(err)}`);
  }
}

export function pruneOptionsOf(o: PruneCliOptions, g: GlobalOptions, dryRun: boolean): PruneOptions {
  if (o.repackUncompressed && g.compression === 'off') throw invalidArgument('disabled compression and --repack-uncompressed are mutually exclusive');
  return {
    maxUnused: parseMaxUnused(o.maxUnused, '--max-unused'),
    maxRepackBytes: o.maxRepackSize === undefined ? undefined : bytesOf('--max-repack-size', o.maxRepackSize),
    repackCacheableOnly: o.repackCacheableOnly === true,
    repackSmall: o.repackSmall === true,
    repackUncompressed: o.repackUncompressed === true,
    packSize: repositoryOptions(g).packSize,
    dryRun,
  };
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '' : `${goFixed(Math.min(100, (100 * part) / whole), 2)}%`;
}

const count = (n: number) => String(n).padStart(10);
/** restic prints a set of ids as {short short ...}. */
const idSet = (ids: readonly string[]) => `{${ids.map(shortId).join(' ')}}`;

/** restic 0.14's statistics block; the lines restic prints only with -v come with -v here too. */
function printStats(out: Output, s: PruneStats): void {
  out.verbose('');
  out.verbose(`used:         ${count(s.blobs.used)} blobs / ${resticBytes(s.size.used)}`);
  if (s.blobs.duplicate > 0) out.verbose(`duplicates:   ${count(s.blobs.duplicate)} blobs / ${resticBytes(s.size.duplicate)}`);
  out.verbose(`unused:       ${count(s.blobs.unused)} blobs / ${resticBytes(s.size.unused)}`);
  if (s.size.unref > 0) out.verbose(`unreferenced:                    ${resticBytes(s.size.unref)}`);
  const totalBlobs = s.blobs.used + s.blobs.unused + s.blobs.duplicate;
  const totalSize = s.size.used + s.size.duplicate + s.size.unused + s.size.unref;
  const unusedSize = s.size.duplicate + s.size.unused;
  out.verbose(`total:        ${count(totalBlobs)} blobs / ${resticBytes(totalSize)}`);
  out.verbose(`unused size: ${percent(unusedSize, totalSize)} of total size`);

  const prunedBlobs = s.blobs.remove + s.blobs.repackrm;
  const prunedSize = s.size.remove + s.size.repackrm + s.size.unref;
  const unusedAfter = unusedSize - s.size.remove - s.size.repackrm;
  out.info('');
  out.info(`to repack:    ${count(s.blobs.repack)} blobs / ${resticBytes(s.size.repack)}`);
  out.info(`this removes: ${count(s.blobs.repackrm)} blobs / ${resticBytes(s.size.repackrm)}`);
  out.info(`to delete:    ${count(s.blobs.remove)} blobs / ${resticBytes(s.size.remove + s.size.unref)}`);
  out.info(`total prune:  ${count(prunedBlobs)} blobs / ${resticBytes(prunedSize)}`);
  out.info(`remaining:    ${count(totalBlobs - prunedBlobs)} blobs / ${resticBytes(totalSize - prunedSize)}`);
  out.info(`unused size after prune: ${resticBytes(unusedAfter)} (${percent(unusedAfter, totalSize - prunedSize)} of remaining size)`);
  out.info('');
  out.verbose(`totally used packs: ${count(s.packs.used)}`);
  out.verbose(`partly used packs:  ${count(s.packs.partlyUsed)}`);
  out.verbose(`unused packs:       ${count(s.packs.unused)}`);
  out.verbose('');
  out.verbose(`to keep:      ${count(s.packs.keep)} packs`);
  out.verbose(`to repack:    ${count(s.packs.repack)} packs`);
  out.verbose(`to delete:    ${count(s.packs.remove)} packs`);
  if (s.packs.unref > 0) out.verbose(`to delete:    ${count(s.packs.unref)} unreferenced packs`);
}

function statsJson(s: PruneStats, r: PruneResult): Record<string, unknown> {
  return {
    message_type: 'summary',
    dry_run: r.dryRun,
    snapshots: r.snapshots,
    blobs: s.blobs,
    size: s.size,
    packs: { used: s.packs.used, unused: s.packs.unused, partly_used: s.packs.partlyUsed, unreferenced: s.packs.unref, keep: s.packs.keep, repack: s.packs.repack, remove: s.packs.remove },
    space_freed: s.size.remove + s.size.repackrm + s.size.unref,
    unused_size_after: s.size.duplicate + s.size.unused - s.size.remove - s.size.repackrm,
    repacked_blobs: r.repackedBlobs,
    index_files_written: r.indexFilesWritten,
    index_files_removed: r.indexFilesRemoved,
  };
}

/** Runs prune on an open, exclusively locked repository, printing as restic does. */
export async function runPrune(repo: Repository, options: PruneOptions, out: Output): Promise<PruneResult> {
  const progress = new PhaseProgress(out);
  const onEvent = (e: PruneEvent) => {
    switch (e.type) {
      case 'phase':
        progress.end();
        if (e.phase === 'load-index') out.info('loading indexes...');
        else if (e.phase === 'snapshots') out.info('loading all snapshots...');
        else if (e.phase === 'used-blobs') {
          out.info(`finding data that is still in use for ${e.total} snapshots`);
          progress.start('snapshots', e.total);
        } else if (e.phase === 'plan') out.info('searching used packs...\ncollecting packs for deletion and repacking');
        else if (e.phase === 'delete-unreferenced' && e.total > 0) {
          out.info('deleting unreferenced packs');
          progress.start('files deleted', e.total);
        } else if (e.phase === 'repack') {
          out.info('repacking packs');
          progress.start('packs repacked', e.total);
        } else if (e.phase === 'write-index') {
          out.info('rebuilding index');
          progress.start('packs processed', e.total);
        } else if (e.phase === 'delete-index') {
          out.info('deleting obsolete index files');
          progress.start('files deleted', e.total);
        } else if (e.phase === 'delete-packs' && e.total > 0) {
          out.info(`removing ${e.total} old packs`);
          progress.start('files deleted', e.total);
        }
        break;
      case 'progress':
        progress.update(e.done, e.total, e.bytes);
        break;
      case 'plan':
        printStats(out, e.stats);
        break;
      case 'warning':
        out.warn(e.message);
        break;
    }
  };
  try {
    const result = await prune(repo, options, onEvent);
    progress.end();
    if (result.dryRun) {
      if (result.unreferenced.length > 0) out.verbose(`Would have removed the following unreferenced packs:\n${idSet(result.unreferenced)}\n`);
      out.verbose(`Would have repacked and removed the following packs:\n${idSet(result.repacked)}\n`);
      out.verbose(`Would have removed the following no longer used packs:\n${idSet(result.removed)}\n`);
    } else {
      out.info('done');
    }
    out.emit(statsJson(result.stats, result));
    return result;
  } finally {
    progress.end();
  }
}

export function registerPrune(program: Command): void {
  const cmd = program
    .command('prune')
    .description('remove data that no snapshot uses (takes an exclusive lock)')
    .option('-n, --dry-run', 'do not modify the repository, just print what would be done');
  addPruneOptions(cmd).action(
    action(async (opts: PruneCliOptions & { dryRun?: boolean }, command: Command) => {
      const g = globalsOf(command);
      const out = outputOf(g);
      const options = pruneOptionsOf(opts, g, opts.dryRun === true);
      await withRepository(g, { lock: 'exclusive' }, async (repo) => {
        await runPrune(repo, options, out);
      });
    }),
  );
}
