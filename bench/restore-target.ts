// Where the benchmark's restores write: for each tool a fresh journaled ext4 on a loop device when
// the bench can make one (root, mkfs.ext4), else a directory beside the repositories.
//
// Why not always beside the repositories: on an ext4 without a journal (this benchmark's own
// machine has one as its root), the kernel keeps away from inodes deleted in the last one to six
// minutes when it allocates new ones (recently_deleted() in fs/ext4/ialloc.c, skipped when there
// is a journal). Creating the 78,579 files of the tree soon after a large delete (a previous run's
// scratch, a test suite's temp dirs) then costs 10-18 s of system time instead of 2, for whichever
// tool happens to restore in that window: the ratio measures the file system's recent past.
// And one file system for both is not fair either: the tool that restores second writes beside the
// other's 1.5 GB and takes 0.6-1.5 s longer, whichever tool it is.

import { spawnSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface RestoreTarget {
  /** A directory to restore into (its children are the targets). */
  readonly dir: string;
  /** What it is, for the report. */
  readonly kind: string;
  release(): Promise<void>;
}

/** Enough for a restore of the Linux tree (1.5 GB with its file system's overhead). */
const IMAGE_BYTES = 4 * 1024 ** 3;

function run(command: string, args: readonly string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

const TOOLS = ['restic', 'holdfast'] as const;

function restoresDir(work: string, tool: (typeof TOOLS)[number]): string {
  return join(work, `restore-${tool}`);
}

/** Unmounts what an interrupted run left mounted in `work`, so that it can be removed. */
export function unmountLeftover(work: string): void {
  if (process.getuid?.() === 0) for (const tool of TOOLS) run('umount', [restoresDir(work, tool)]);
}

export async function restoreTarget(work: string, tool: (typeof TOOLS)[number]): Promise<RestoreTarget> {
  const dir = restoresDir(work, tool);
  await mkdir(dir, { recursive: true });
  const image = `${dir}.ext4`;
  const canMount = process.getuid?.() === 0 && run('mkfs.ext4', ['-V']);
  if (canMount && run('truncate', ['-s', String(IMAGE_BYTES), image]) && run('mkfs.ext4', ['-q', '-F', image]) && run('mount', ['-o', 'loop', image, dir])) {
    return {
      dir,
      kind: 'a fresh journaled ext4 (loop device)',
      release: async () => {
        run('umount', [dir]);
        await rm(image, { force: true });
      },
    };
  }
  await rm(image, { force: true });
  return { dir, kind: 'a directory beside the repositories', release: async () => undefined };
}
