// holdfast backup --image: the disk-image half of the backup command. backup.ts adds these options
// and hands the run over here whenever one of them is given.

import type { Command } from 'commander';
import { hostname } from 'node:os';
import { HoldfastError, invalidArgument } from '../../errors.js';
import { backupImage, type ImageBackupEvent, type ImageBackupResult } from '../../image/index.js';
import { formatBytes, formatDuration } from '../../ui/format.js';
import type { Output } from '../../ui/output.js';
import { Progress } from '../../ui/progress.js';
import { globalsOf, outputOf } from '../global-options.js';
import { creatingRepository, withRepository } from '../repository.js';

export interface ImageCliOptions {
  image?: string;
  name?: string;
  blockSize?: string;
  changedBlocks?: string;
  dirtyBitmap?: string;
}

/** The options of backup.ts that image backups share. */
interface SharedOptions {
  tag: string[];
  host?: string;
  parent?: string;
  dryRun: boolean;
  stdin: boolean;
  checkpointInterval: string;
}

export function addImageOptions(command: Command): Command {
  return command
    .option('--image <source>', 'back up a disk image: a raw image file, a block device or an NBD URI (nbd://HOST/EXPORT, nbd+unix:///EXPORT?socket=PATH)')
    .option('--name <name>', 'with --image: the image name in the snapshot (default: the file, device or export name)')
    .option('--block-size <size>', 'with --image: block size, a power of two from 4K to 64M (default: the parent\'s, else 1M)')
    .option('--changed-blocks <file>', 'with --image: read only the byte ranges this file lists as changed since the parent (see docs/images.md)')
    .option('--dirty-bitmap <name>', 'with --image on an NBD export: read only what the qemu dirty bitmap NAME marks as written');
}

/** True when any image option was given: the backup is an image backup. */
export function wantsImage(opts: ImageCliOptions): boolean {
  return [opts.image, opts.name, opts.blockSize, opts.changedBlocks, opts.dirtyBitmap].some((v) => v !== undefined);
}

/** "1M", "64K", "4MiB", "1048576" → bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([KMG]?)(i?B)?$/i.exec(text.trim());
  if (m === null) throw invalidArgument(`invalid size "${text}" (examples: 64K, 1M, 4M)`);
  return Number(m[1]) * 1024 ** ['', 'K', 'M', 'G'].indexOf(m[2]!.toUpperCase());
}

function parseInterval(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) throw invalidArgument(`invalid duration "${text}" (examples: 30s, 5m, 1h)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

function summaryLines(r: ImageBackupResult): string[] {
  const b = r.blocks;
  const parent = r.parent ? `parent ${r.parent.id.slice(0, 8)} (generation ${r.parent.generation})` : 'no parent: full backup';
  const sampled = b.sampled > 0 ? ` (${b.sampled} to check the change tracking)` : '';
  return [
    `Image:       ${r.name}, ${formatBytes(r.volumeSize)} in ${b.total} blocks of ${formatBytes(r.blockSize)} (${r.layout})`,
    `Mode:        ${r.mode}, ${parent}`,
    `Blocks:      ${b.total} total, ${b.unused} unused, ${b.read} read${sampled}, ${b.reused} taken from the parent unread, ${b.changed} changed, ${b.stored} stored`,
    `Read:        ${formatBytes(r.bytes.read)} of block data, ${formatBytes(r.bytes.metadata)} of file system metadata`,
    `Added to the repository: ${formatBytes(r.bytes.added)} (${formatBytes(r.bytes.stored)} stored)`,
    `Generation:  ${r.generation}, ${b.changed} block(s) changed`,
    '',
    `processed ${formatBytes(r.volumeSize)} in ${formatDuration(r.durationMs)}`,
    r.snapshotId ? `snapshot ${r.snapshotId.slice(0, 8)} saved` : 'dry run: nothing was saved',
  ];
}

function jsonSummary(r: ImageBackupResult): Record<string, unknown> {
  const b = r.blocks;
  return {
    message_type: 'summary',
    image: r.name,
    source: r.source,
    volume_size: r.volumeSize,
    block_size: r.blockSize,
    layout: r.layout,
    mode: r.mode,
    generation: r.generation,
    parent: r.parent?.id,
    parent_generation: r.parent?.generation,
    blocks_total: b.total,
    blocks_unused: b.unused,
    blocks_read: b.read,
    blocks_sampled: b.sampled,
    blocks_reused: b.reused,
    blocks_changed: b.changed,
    blocks_stored: b.stored,
    blocks_zero: b.zero,
    bytes_read: r.bytes.read,
    metadata_bytes_read: r.bytes.metadata,
    data_added: r.bytes.added,
    data_added_packed: r.bytes.stored,
    warnings: r.warnings,
    total_duration: r.durationMs / 1000,
    snapshot_id: r.snapshotId,
    dry_run: r.snapshotId === undefined,
  };
}

class ImageProgress {
  private toRead = 0;
  private bytesToRead = 0;
  private read = 0;
  private bytes = 0;
  readonly bar: Progress;

  constructor(private readonly out: Output) {
    this.bar = new Progress(() => ({ done: this.read, total: this.toRead, bytesDone: this.bytes, bytesTotal: this.bytesToRead, unit: 'blocks' }), {
      json: out.json,
      quiet: out.options.quiet,
      jsonFields: (s) => ({ total_blocks: s.total, blocks_done: s.done, total_bytes: s.bytesTotal, bytes_done: s.bytesDone }),
    });
  }

  onEvent = (e: ImageBackupEvent): void => {
    switch (e.type) {
      case 'start':
        this.out.verbose(e.parent ? `using parent snapshot ${e.parent.id.slice(0, 8)} (generation ${e.parent.generation})` : 'no parent image: full backup');
        if (e.adoptedPacks > 0) this.out.info(`resuming: ${e.adoptedPacks} pack(s) (${formatBytes(e.adoptedBytes)}) from an interrupted backup are reused`);
        break;
      case 'plan':
        this.toRead = e.toRead;
        this.bytesToRead = e.bytesToRead;
        this.out.verbose(`${e.layout}: ${formatBytes(e.usedBytes)} in use, ${e.toRead} block(s) to read (${e.mode})`);
        break;
      case 'block':
        this.read++;
        this.bytes += e.bytes;
        break;
      case 'warning':
        if (this.out.json) this.out.warn(e.message);
        else this.bar.log(`warning: ${e.message}`);
        break;
      case 'checkpoint':
        this.out.verbose(`index checkpoint written (${e.indexFiles} file(s))`);
        break;
    }
  };
}

export async function runImageBackup(paths: readonly string[], opts: ImageCliOptions & SharedOptions, cmd: Command): Promise<number> {
  if (opts.image === undefined) throw invalidArgument('--name, --block-size, --changed-blocks and --dirty-bitmap need --image');
  if (paths.length > 0 || opts.stdin) throw invalidArgument('--image backs up one image: it cannot be combined with paths or --stdin');
  const g = globalsOf(cmd);
  const out = outputOf(g);
  const controller = new AbortController();
  const progress = new ImageProgress(out);
  let result: ImageBackupResult;
  try {
    result = await withRepository(
      g,
      { lock: opts.dryRun ? 'none' : 'shared', createMissing: (location, isDefault) => out.info(creatingRepository(location, isDefault)), interrupt: controller },
      (repo) =>
        backupImage(repo, {
          source: opts.image!,
          ...(opts.name === undefined ? {} : { name: opts.name }),
          ...(opts.blockSize === undefined ? {} : { blockSize: parseSize(opts.blockSize) }),
          ...(opts.changedBlocks === undefined ? {} : { changedBlocks: opts.changedBlocks }),
          ...(opts.dirtyBitmap === undefined ? {} : { dirtyBitmap: opts.dirtyBitmap }),
          ...(opts.parent === undefined ? {} : { parent: opts.parent }),
          hostname: opts.host ?? hostname(),
          tags: opts.tag.flatMap((t) => t.split(',')).filter((t) => t.length > 0),
          dryRun: opts.dryRun,
          checkpointEvery: parseInterval(opts.checkpointInterval),
          signal: controller.signal,
          onEvent: progress.onEvent,
        }),
    );
  } catch (err) {
    progress.bar.stop();
    if (err instanceof HoldfastError && err.code === 'ERR_INTERRUPTED') {
      throw new HoldfastError('ERR_INTERRUPTED', 'image backup interrupted; no snapshot was saved. Run the same command again to resume: data already stored is not uploaded again.');
    }
    throw err;
  }
  progress.bar.stop();
  if (out.json) out.emit(jsonSummary(result));
  else for (const line of summaryLines(result)) out.info(line);
  return 0;
}
