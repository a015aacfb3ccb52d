// Loads trees for a walk over a snapshot: reads a tree pack whole the first time one of its trees
// is needed (one read instead of one per tree) and keeps a few recent packs, and lets the walker
// ask for subtrees ahead of time so that loading them is off the walk's critical path.

import { Semaphore } from '../concurrency.js';
import { corrupt } from '../errors.js';
import type { Node } from '../format/node.js';
import { decodeTree } from '../format/tree.js';
import type { Repository } from './repository.js';

/** Tree packs kept in memory, in bytes; restic's default pack size makes that two or three. */
const PACK_CACHE_BYTES = 48 * 1024 * 1024;
/** A pack bigger than this is read blob by blob instead. */
const MAX_WHOLE_PACK = 32 * 1024 * 1024;
/** Trees loaded ahead and not yet taken. */
const MAX_PREFETCHED = 256;

export class TreeLoader {
  /** Cached packs, least recently used first. */
  private readonly packs = new Map<string, { bytes: Promise<Buffer>; size: number }>();
  private packBytes = 0;
  private readonly prefetched = new Map<string, Promise<Node[]>>();
  private readonly reads = new Semaphore(8);

  constructor(private readonly repo: Repository) {}

  /** The nodes of a tree; one prefetched earlier is handed over and forgotten. */
  load(id: string): Promise<Node[]> {
    const ahead = this.prefetched.get(id);
    if (ahead) {
      this.prefetched.delete(id);
      return ahead;
    }
    return this.fetch(id);
  }

  /** Starts loading trees that will be asked for soon; failures surface when they are. */
  prefetch(ids: Iterable<string>): void {
    for (const id of ids) {
      if (this.prefetched.has(id)) continue;
      // Trees asked for but never taken (a directory that vanished) must not block the rest.
      if (this.prefetched.size >= MAX_PREFETCHED) this.prefetched.delete(this.prefetched.keys().next().value!);
      const p = this.fetch(id);
      p.catch(() => undefined);
      this.prefetched.set(id, p);
    }
  }

  private async fetch(id: string): Promise<Node[]> {
    const loc = this.repo.index.lookup('tree', id);
    if (!loc) throw corrupt(`tree ${id} is not in the index`);
    let plain: Buffer;
    try {
      const pack = await this.pack(loc.packId);
      plain = pack
        ? this.repo.openBlobHere(pack.subarray(loc.offset, loc.offset + loc.length), loc.uncompressedLength, id)
        : await this.reads.run(() => this.repo.loadBlob('tree', id));
    } catch {
      // The cached pack may be the damaged copy: loadBlob tries every copy of the blob.
      plain = await this.repo.loadBlob('tree', id);
    }
    try {
      return decodeTree(plain);
    } catch (err) {
      throw corrupt(`tree ${id}: ${(err as Error).message}`, err);
    }
  }

  /** The whole pack, read once while it is cached; undefined for packs too big to hold. */
  private async pack(packId: string): Promise<Buffer | undefined> {
    let cached = this.packs.get(packId);
    if (!cached) {
      const size = (await this.repo.backend.stat({ type: 'data', name: packId })).size;
      if (size > MAX_WHOLE_PACK) return undefined;
      // Another caller may have started the same read while we asked for the size.
      cached = this.packs.get(packId) ?? { bytes: this.reads.run(() => this.repo.backend.read({ type: 'data', name: packId })), size };
      this.packBytes += this.packs.has(packId) ? 0 : size;
    }
    this.packs.delete(packId);
    this.packs.set(packId, cached);
    this.evict();
    return cached.bytes;
  }

  private evict(): void {
    for (const [packId, entry] of this.packs) {
      if (this.packBytes <= PACK_CACHE_BYTES || this.packs.size <= 1) return;
      this.packs.delete(packId);
      this.packBytes -= entry.size;
    }
  }
}
