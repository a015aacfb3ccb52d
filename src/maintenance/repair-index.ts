// repair index (restic 0.14: rebuild-index): a fresh index from the packs, reusing entries whose pack
// size matches and reading other headers; the old index files go only after the new ones are written.

import { mapLimited } from '../concurrency.js';
import { messageOf } from '../errors.js';
import { decodeIndexFile, type IndexPack } from '../format/index-file.js';
import { CRYPTO_OVERHEAD } from '../format/crypto.js';
import { headerEntrySize, TRAILER_SIZE } from '../format/pack.js';
import { MasterIndex } from '../repository/master-index.js';
import type { Repository } from '../repository/repository.js';
import { writeIndexFiles } from './index-rewrite.js';

export interface RepairIndexOptions {
  /** Read every pack's header, reusing nothing from the old index files. */
  readonly readAllPacks?: boolean;
}

export type RepairIndexPhase = 'load-index' | 'list-packs' | 'read-packs' | 'write-index' | 'delete-index';

export type RepairIndexEvent =
  | { readonly type: 'phase'; readonly phase: RepairIndexPhase; readonly total: number }
  | { readonly type: 'progress'; readonly phase: RepairIndexPhase; readonly done: number; readonly total: number }
  | { readonly type: 'warning'; readonly message: string };

export interface RepairIndexResult {
  /** Packs whose headers were read (not indexed, or indexed with another size). */
  readonly packsRead: number;
  /** Packs the old index named but the repository lacks: left out. */
  readonly packsForgotten: string[];
  /** Packs whose header could not be read: left out (prune deletes them as unreferenced). */
  readonly packsSkipped: string[];
  /** Packs described by the new index. */
  readonly packsIndexed: number;
  readonly indexFilesWritten: number;
  readonly indexFilesRemoved: number;
}

/** Pack headers read at the same time, and read before the new index takes them. */
const HEADER_READS = 8;
const HEADER_BATCH = 256;

export async function repairIndex(repo: Repository, options: RepairIndexOptions = {}, onEvent: (e: RepairIndexEvent) => void = () => undefined): Promise<RepairIndexResult> {
  const oldIndex: string[] = [];
  for await (const f of repo.list('index')) oldIndex.push(f.name);
  oldIndex.sort();

  // What the readable old index files say (a file that cannot be read says nothing).
  const carried = new MasterIndex();
  if (!options.readAllPacks) {
    onEvent({ type: 'phase', phase: 'load-index', total: oldIndex.length });
    let done = 0;
    await mapLimited(oldIndex, 4, async (id) => {
      try {
        for (const p of decodeIndexFile(await repo.loadUnpacked('index', id)).packs) carried.addPack(p.id, p.blobs);
      } catch (err) {
        onEvent({ type: 'warning', message: `removing invalid index ${id}: ${messageOf(err)}` });
      }
      onEvent({ type: 'progress', phase: 'load-index', done: ++done, total: oldIndex.length });
    });
  }
  const indexedSize = new Map<string, number>();
  carried.forEachLocation((b) => {
    const id = carried.packIdAt(b.pack);
    indexedSize.set(id, (indexedSize.get(id) ?? CRYPTO_OVERHEAD + TRAILER_SIZE) + b.length + headerEntrySize(b));
  });

  onEvent({ type: 'phase', phase: 'list-packs', total: 0 });
  const toRead: [id: string, size: number][] = [];
  const drop = new Set<string>();
  for await (const f of repo.list('data')) {
    const size = indexedSize.get(f.name);
    indexedSize.delete(f.name);
    if (size === f.size) continue;
    if (size === undefined) onEvent({ type: 'warning', message: `adding pack file to index ${f.name}` });
    else onEvent({ type: 'warning', message: `reindexing pack file ${f.name} with unexpected size ${f.size} instead of ${size}` });
    drop.add(f.name);
    toRead.push([f.name, f.size]);
  }
  const packsForgotten = [...indexedSize.keys()].sort();
  for (const id of packsForgotten) {
    onEvent({ type: 'warning', message: `removing not found pack file ${id}` });
    drop.add(id);
  }

  const packsSkipped: string[] = [];
  let read = 0;
  async function* headers(): AsyncGenerator<IndexPack> {
    onEvent({ type: 'phase', phase: 'read-packs', total: toRead.length });
    for (let at = 0; at < toRead.length; at += HEADER_BATCH) {
      const batch = await mapLimited(toRead.slice(at, at + HEADER_BATCH), HEADER_READS, async ([id, size]) => {
        try {
          return { id, blobs: await repo.readPackHeader(id, size) };
        } catch (err) {
          packsSkipped.push(id);
          onEvent({ type: 'warning', message: `skipped incomplete pack file ${id}: ${messageOf(err)}` });
          return undefined;
        } finally {
          onEvent({ type: 'progress', phase: 'read-packs', done: ++read, total: toRead.length });
        }
      });
      for (const p of batch) if (p) yield p;
    }
    onEvent({ type: 'phase', phase: 'write-index', total: 0 });
  }
  async function* packs(): AsyncGenerator<IndexPack> {
    yield* carried.packsOneByOne((id) => drop.has(id));
    yield* headers();
  }

  const written = await writeIndexFiles(repo, { packs: packs(), supersedes: oldIndex });
  onEvent({ type: 'phase', phase: 'delete-index', total: oldIndex.length });
  let removed = 0;
  await mapLimited(oldIndex, 8, async (id) => {
    await repo.backend.remove({ type: 'index', name: id });
    onEvent({ type: 'progress', phase: 'delete-index', done: ++removed, total: oldIndex.length });
  });
  return {
    packsRead: toRead.length,
    packsForgotten,
    packsSkipped: packsSkipped.sort(),
    packsIndexed: written.packs,
    indexFilesWritten: written.written.length,
    indexFilesRemoved: oldIndex.length,
  };
}
