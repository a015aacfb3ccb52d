// The generations of an image as the seeds describe them: every generation with its date, how it
// found its changes and how many blocks it changed, plus how many blocks still date from it.

import type { Repository } from '../repository/repository.js';
import type { GenerationMode } from './block-directory.js';
import { findImageSnapshot } from './image-snapshots.js';

export interface GenerationRow {
  readonly generation: number;
  readonly time: Date;
  readonly mode: GenerationMode;
  /** Blocks this generation changed when it was made. */
  readonly changedBlocks: number;
  /** Blocks of this snapshot's image that last changed in this generation. */
  readonly currentBlocks: number;
  /** The snapshot that holds the generation (undefined if the directory did not record it). */
  readonly snapshotId: string | undefined;
}

export interface GenerationsResult {
  readonly snapshotId: string;
  readonly name: string;
  readonly volumeSize: number;
  readonly blockSize: number;
  readonly blockCount: number;
  readonly generations: readonly GenerationRow[];
}

export async function listGenerations(repo: Repository, spec: string, host?: string): Promise<GenerationsResult> {
  await repo.loadIndex();
  const image = await findImageSnapshot(repo, spec, host);
  const dir = image.directory;
  const current = new Map<number, number>();
  for (const g of dir.generations) current.set(g, (current.get(g) ?? 0) + 1);
  return {
    snapshotId: image.id,
    name: dir.name,
    volumeSize: dir.volumeSize,
    blockSize: dir.blockSize,
    blockCount: dir.blockCount,
    generations: dir.history.map((h, i) => ({
      generation: h.generation,
      time: new Date(Number(h.timeNs / 1_000_000n)),
      mode: h.mode,
      changedBlocks: h.changedBlocks,
      currentBlocks: current.get(h.generation) ?? 0,
      snapshotId: i === dir.history.length - 1 ? image.id : h.snapshotId,
    })),
  };
}
