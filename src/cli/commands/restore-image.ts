// holdfast restore-image: write an image snapshot to a file or block device at least as large, each
// block verified against its SHA-256; --grow extends an ext2/3/4 file system into a larger target.

import type { Command } from 'commander';
import { restoreImage, type RestoreImageEvent, type RestoreImageResult } from '../../image/index.js';
import { formatBytes, formatDuration } from '../../ui/format.js';
import type { Output } from '../../ui/output.js';
import { Progress } from '../../ui/progress.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';

class RestoreProgress {
  private total = 0;
  private bytesTotal = 0;
  private done = 0;
  private bytes = 0;
  private errors = 0;
  readonly bar: Progress;

  constructor(private readonly out: Output) {
    this.bar = new Progress(() => ({ done: this.done, total: this.total, bytesDone: this.bytes, bytesTotal: this.bytesTotal, errors: this.errors, unit: 'blocks' }), {
      json: out.json,
      quiet: out.options.quiet,
      jsonFields: (s) => ({ total_blocks: s.total, blocks_done: s.done, total_bytes: s.bytesTotal, bytes_done: s.bytesDone, error_count: s.errors }),
    });
  }

  onEvent = (e: RestoreImageEvent): void => {
    switch (e.type) {
      case 'start':
        this.total = e.dataBlocks;
        this.bytesTotal = e.dataBytes;
        this.out.info(`restoring image ${e.name} (generation ${e.generation} of snapshot ${e.snapshotId.slice(0, 8)}, ${formatBytes(e.volumeSize)})`);
        break;
      case 'block':
        this.done += e.count;
        this.bytes += e.bytes;
        break;
      case 'error':
        this.errors++;
        if (this.out.json) this.out.error(e.message);
        else this.bar.log(`error: ${e.message}`);
        break;
    }
  };
}

function summaryLines(r: RestoreImageResult): string[] {
  const where = r.targetKind === 'device' ? 'written as zeros' : 'left as holes';
  const lines = [
    `Restored ${formatBytes(r.volumeSize)} to ${r.target} (${formatBytes(r.targetSize)}) in ${formatDuration(r.durationMs)}`,
    `Blocks:   ${r.blocksWritten} written and verified (${formatBytes(r.bytesWritten)}), ${r.zeroBlocks} unused or zero ${where}`,
  ];
  if (r.grew) lines.push(`Grown:    ${r.grew.volume} from ${formatBytes(r.grew.from)} to ${formatBytes(r.grew.to)}`);
  return lines;
}

export function registerRestoreImage(program: Command): void {
  program
    .command('restore-image <snapshot>')
    .description('restore an image backup (SNAPSHOT[:NAME], or latest[:NAME]) to a file or block device at least as large')
    .requiredOption('-t, --target <file|device>', 'where to write the image: a new or existing file, or an unmounted block device')
    .option('--grow', 'grow the last ext2/3/4 file system to fill a larger target', false)
    .option('-H, --host <name>', 'with latest: the newest snapshot from this host')
    .action(
      action(async (snapshot: string, opts: { target: string; grow: boolean; host?: string }, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        const progress = new RestoreProgress(out);
        const controller = new AbortController();
        let result: RestoreImageResult;
        try {
          result = await withRepository(g, { lock: 'shared', interrupt: controller }, (repo) =>
            restoreImage(repo, {
              snapshot,
              target: opts.target,
              grow: opts.grow,
              ...(opts.host === undefined ? {} : { host: opts.host }),
              signal: controller.signal,
              onEvent: progress.onEvent,
            }),
          );
        } finally {
          progress.bar.stop();
        }
        if (out.json) {
          out.emit({
            message_type: 'summary',
            snapshot_id: result.snapshotId,
            image: result.name,
            generation: result.generation,
            volume_size: result.volumeSize,
            target: result.target,
            target_size: result.targetSize,
            blocks_written: result.blocksWritten,
            blocks_zero: result.zeroBlocks,
            bytes_written: result.bytesWritten,
            grew: result.grew,
            total_duration: result.durationMs / 1000,
          });
        } else for (const line of summaryLines(result)) out.info(line);
      }),
    );
}
