// Shared steps of the restore tests: a repository holding a backed-up tree, the JSON summary of a
// restore, the pack and offset of a file's first blob (to damage it), files' times by path.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { openRepository } from '../../src/repository/keys.js';
import { findSnapshot } from '../../src/repository/snapshots.js';
import { findNode } from '../../src/restore/snapshot-path.js';
import { holdfast, ok, restic, type RunResult, testEnv } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const execFileAsync = promisify(execFile);

export interface BackedUp {
  readonly dir: string;
  readonly repo: string;
  /** The tree that was backed up (absolute, so restored below target + this path). */
  readonly src: string;
}

/** A temp dir with `src` filled by `fill`, backed up by holdfast (or restic) into `repo`. */
export async function backUp(t: TestContext, fill: (src: string) => Promise<unknown>, by: 'holdfast' | 'restic' = 'holdfast'): Promise<BackedUp> {
  const dir = await tempDir(t, 'holdfast-restore-');
  const repo = join(dir, 'repo');
  const src = join(dir, 'src');
  await fill(src);
  if (by === 'holdfast') {
    await ok(holdfast(['-r', repo, 'init']));
    await ok(holdfast(['-r', repo, 'backup', '-q', src]));
  } else {
    await ok(restic(['-r', repo, 'init']));
    await ok(restic(['-r', repo, 'backup', '-q', src]));
  }
  return { dir, repo, src };
}

/** The summary line of `restore --json`. */
export function summaryOf(r: RunResult): Record<string, number | boolean> {
  const line = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { message_type?: string })
    .find((m) => m.message_type === 'summary');
  if (!line) throw new Error(`no summary in: ${r.stdout}${r.stderr}`);
  return line as Record<string, number | boolean>;
}

/** Where the first blob of the file at `path` (inside the latest snapshot) is stored. */
export async function firstBlobOf(repo: string, path: string): Promise<{ pack: string; offset: number; length: number }> {
  const r = await openRepository(new LocalBackend(repo), testEnv.HOLDFAST_PASSWORD);
  try {
    await r.loadIndex();
    const entry = await findSnapshot(r, 'latest');
    const found = await findNode(r, entry.snapshot.tree, path);
    const id = found.node?.content?.[0];
    if (!id) throw new Error(`${path} has no content`);
    const loc = r.index.lookup('data', id)!;
    return { pack: join(repo, 'data', loc.packId.slice(0, 2), loc.packId), offset: loc.offset, length: loc.length };
  } finally {
    await r.close();
  }
}

/** Copies the times of `from` to `to` to the nanosecond. */
export async function copyTimes(from: string, to: string): Promise<void> {
  await execFileAsync('touch', ['-h', '-r', from, to]);
}
