// The in-memory index of every blob in the repository: blob id → pack, offset, lengths. An
// open-addressing table over flat typed arrays (53 bytes a slot, 70-140 a blob) instead of a Map
// of strings.

import { writeIdBytes } from '../format/id.js';
import type { BlobType, PackedBlob } from '../format/pack.js';

export interface BlobLocation extends PackedBlob {
  readonly packId: string;
}

/** One location as forEachLocation shows it: a single object, refilled for every location. */
export interface LocationView {
  /** The pack's number; packIdAt() gives its id. */
  pack: number;
  type: BlobType;
  /** The blob id is the 32 bytes at `idAt` in `idBytes`. */
  idBytes: Buffer;
  idAt: number;
  offset: number;
  length: number;
  uncompressedLength: number | undefined;
}

const ID_BYTES = 32;
const EMPTY = 0xffffffff;
/**
 * Most of a table that may be in use before it doubles. At 0.75 a lookup of a missing id probes
 * about eight slots on average (2.5 at 0.5), a few hundred nanoseconds; at 0.5 the table took
 * twice the memory: 14 MB instead of 7 for the 84,000 blobs of the Linux tree, in every command
 * that loads the index.
 */
const MAX_LOAD = 0.75;

/** Slots for `blobs` blobs: a power of two, for masking. */
const tableSize = (blobs: number): number => nextPowerOfTwo(Math.max(16, Math.ceil(blobs / MAX_LOAD)));
/** A blob's key in blobKeys(): a type byte (1: tree) and the id's bytes. */
const KEY_BYTES = 1 + ID_BYTES;

/**
 * The keys of `blobs`, packed in one buffer: what blobsInPack() needs to find them again, at 33
 * bytes a blob instead of an object each (a backup keeps them until its index file is written).
 */
export function blobKeys(blobs: readonly PackedBlob[]): Buffer {
  const keys = Buffer.allocUnsafe(blobs.length * KEY_BYTES);
  blobs.forEach((b, i) => {
    keys[i * KEY_BYTES] = b.type === 'tree' ? 1 : 0;
    if (!writeIdBytes(b.id, keys, i * KEY_BYTES + 1)) throw new RangeError(`invalid blob id ${b.id}`);
  });
  return keys;
}

/** How many blobs `keys` (from blobKeys) holds. */
export const keyCount = (keys: Buffer): number => keys.length / KEY_BYTES;

/** Blob ids are SHA-256 digests, uniformly distributed: their first bytes are already a hash. */
function slotHash(ids: Buffer, at: number): number {
  return ids.readUInt32LE(at);
}

export class MasterIndex {
  private capacity = 0;
  private count = 0;
  private ids = Buffer.alloc(0);
  private pack = new Uint32Array(0);
  private offset = new Float64Array(0);
  private length = new Uint32Array(0);
  private uncompressed = new Uint32Array(0);
  private types = new Uint8Array(0);
  private readonly packIds: string[] = [];
  private readonly packNumber = new Map<string, number>();
  /** Further locations of blobs stored more than once (rare: concurrent backups, interrupted runs). */
  private readonly duplicates = new Map<string, BlobLocation[]>();
  private readonly scratch = Buffer.alloc(ID_BYTES);

  constructor(expected = 1024) {
    this.resize(tableSize(expected));
  }

  get size(): number {
    return this.count;
  }

  get packCount(): number {
    return this.packNumber.size;
  }

  hasPack(packId: string): boolean {
    return this.packNumber.has(packId);
  }

  /**
   * Records every blob of a pack; returns false (and changes nothing) if the pack was already
   * recorded, as when two index files describe it. A blob also stored in another pack is kept
   * as a duplicate location.
   */
  addPack(packId: string, blobs: readonly PackedBlob[]): boolean {
    if (this.packNumber.has(packId)) return false;
    this.reserve(this.count + blobs.length);
    const p = this.packIds.length;
    this.packIds.push(packId);
    this.packNumber.set(packId, p);
    for (const b of blobs) this.insert(p, b);
    return true;
  }

  /** Every pack with its blobs, for checks that go pack by pack. */
  packs(): Map<string, BlobLocation[]> {
    const byPack = new Map<string, BlobLocation[]>();
    for (const b of this.entries()) {
      const list = byPack.get(b.packId);
      if (list) list.push(b);
      else byPack.set(b.packId, [b]);
    }
    for (const list of byPack.values()) list.sort((a, b) => a.offset - b.offset);
    return byPack;
  }

  /**
   * Every pack (but those `skip` names) with its blobs sorted by offset, one pack at a time: only
   * the pack being looked at exists as objects. The index must not change during the iteration.
   */
  *packsOneByOne(skip: (packId: string) => boolean = () => false): IterableIterator<{ id: string; blobs: BlobLocation[] }> {
    // Each pack's slots as a linked list: 4 bytes a slot instead of an object a blob.
    const head = new Int32Array(this.packIds.length).fill(-1);
    const next = new Int32Array(this.capacity);
    for (let slot = 0; slot < this.capacity; slot++) {
      const p = this.pack[slot]!;
      if (p === EMPTY) continue;
      next[slot] = head[p]!;
      head[p] = slot;
    }
    const extra = new Map<number, BlobLocation[]>();
    for (const list of this.duplicates.values()) {
      for (const loc of list) {
        const p = this.packNumber.get(loc.packId)!;
        const same = extra.get(p);
        if (same) same.push(loc);
        else extra.set(p, [loc]);
      }
    }
    for (let p = 0; p < this.packIds.length; p++) {
      const id = this.packIds[p]!;
      if (skip(id)) continue;
      const blobs = extra.get(p) ?? [];
      for (let slot = head[p]!; slot >= 0; slot = next[slot]!) blobs.push(this.at(slot, this.ids.toString('hex', slot * ID_BYTES, (slot + 1) * ID_BYTES)));
      yield { id, blobs: blobs.sort((a, b) => a.offset - b.offset) };
    }
  }

  /** Visits every location, duplicates included, without an object per blob; `view` is reused. */
  forEachLocation(visit: (view: Readonly<LocationView>) => void): void {
    const view: LocationView = { pack: 0, type: 'data', idBytes: this.ids, idAt: 0, offset: 0, length: 0, uncompressedLength: undefined };
    for (let slot = 0; slot < this.capacity; slot++) {
      const p = this.pack[slot]!;
      if (p === EMPTY) continue;
      const u = this.uncompressed[slot]!;
      view.pack = p;
      view.type = this.types[slot] === 1 ? 'tree' : 'data';
      view.idBytes = this.ids;
      view.idAt = slot * ID_BYTES;
      view.offset = this.offset[slot]!;
      view.length = this.length[slot]!;
      view.uncompressedLength = u === 0 ? undefined : u;
      visit(view);
    }
    for (const list of this.duplicates.values()) {
      for (const loc of list) {
        Object.assign(view, { pack: this.packNumber.get(loc.packId)!, type: loc.type, idBytes: Buffer.from(loc.id, 'hex'), idAt: 0, offset: loc.offset, length: loc.length, uncompressedLength: loc.uncompressedLength });
        visit(view);
      }
    }
  }

  /** The id of pack number `pack` (see LocationView). */
  packIdAt(pack: number): string {
    return this.packIds[pack]!;
  }

  /** The number forEachLocation gives a pack, or undefined for a pack the index does not know. */
  packNumberOf(packId: string): number | undefined {
    return this.packNumber.get(packId);
  }

  has(type: BlobType, id: string): boolean {
    return this.find(type, id) !== EMPTY;
  }

  lookup(type: BlobType, id: string): BlobLocation | undefined {
    const slot = this.find(type, id);
    return slot === EMPTY ? undefined : this.at(slot, id);
  }

  /** Every known location of a blob, first the primary one. */
  lookupAll(type: BlobType, id: string): BlobLocation[] {
    const first = this.lookup(type, id);
    if (!first) return [];
    return [first, ...(this.duplicates.get(type + id) ?? [])];
  }

  /**
   * The locations in pack `packId` of the blobs `keys` names, sorted by offset: a pack's blobs
   * found by lookup, where packsOneByOne() goes through the whole table.
   */
  blobsInPack(packId: string, keys: Buffer): BlobLocation[] {
    const blobs: BlobLocation[] = [];
    const packNo = this.packNumber.get(packId);
    if (packNo === undefined) return blobs;
    /** Keys with further locations, looked up once: a blob the pack holds twice is listed twice already. */
    let seen: Set<string> | undefined;
    for (let at = 0; at < keys.length; at += KEY_BYTES) {
      const slot = this.findBytes(keys[at]!, keys, at + 1);
      if (slot === EMPTY) continue;
      const id = keys.toString('hex', at + 1, at + KEY_BYTES);
      const type = keys[at] === 1 ? 'tree' : 'data';
      const more = this.duplicates.get(type + id);
      if (more) {
        seen ??= new Set();
        if (seen.has(type + id)) continue;
        seen.add(type + id);
        for (const location of more) if (location.packId === packId) blobs.push(location);
      }
      if (this.pack[slot] === packNo) blobs.push(this.at(slot, id));
    }
    return blobs.sort((a, b) => a.offset - b.offset);
  }

  *entries(): IterableIterator<BlobLocation> {
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.pack[slot] !== EMPTY) yield this.at(slot, this.ids.toString('hex', slot * ID_BYTES, (slot + 1) * ID_BYTES));
    }
    for (const extra of this.duplicates.values()) yield* extra;
  }

  /** Number of blob locations in total, duplicates included. */
  get locationCount(): number {
    let n = this.count;
    for (const extra of this.duplicates.values()) n += extra.length;
    return n;
  }

  /**
   * The table as it is in memory, for a local cache: loading it back costs a copy, where reading
   * the index files costs decrypting, parsing and inserting every blob. Undefined while there are
   * duplicate locations (rare; those indexes are simply read from the repository).
   */
  toBytes(): Buffer[] | undefined {
    if (this.duplicates.size > 0) return undefined;
    const header = Buffer.allocUnsafe(12);
    header.writeUInt32LE(this.capacity, 0);
    header.writeUInt32LE(this.count, 4);
    header.writeUInt32LE(this.packIds.length, 8);
    const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    return [header, ...this.packIds.map((id) => Buffer.from(id, 'hex')), this.ids, bytes(this.pack), bytes(this.offset), bytes(this.length), bytes(this.uncompressed), bytes(this.types)];
  }

  /** Fills this empty index with a table from toBytes(); throws on bytes that cannot be one. */
  fillFrom(data: Buffer): void {
    if (this.count > 0 || this.packIds.length > 0) throw new Error('fillFrom needs an empty index');
    let at = 0;
    const take = (n: number): Buffer => {
      if (at + n > data.length) throw new RangeError('index table is truncated');
      const b = data.subarray(at, at + n);
      at += n;
      return b;
    };
    // Typed arrays need aligned storage: each part is copied out of the decrypted bytes.
    const copy = (n: number): ArrayBuffer => {
      const b = take(n);
      return b.buffer.slice(b.byteOffset, b.byteOffset + n) as ArrayBuffer;
    };
    const capacity = take(4).readUInt32LE(0);
    const count = take(4).readUInt32LE(0);
    const packs = take(4).readUInt32LE(0);
    if (capacity === 0 || (capacity & (capacity - 1)) !== 0 || count > capacity * MAX_LOAD) throw new RangeError('index table has a bad size');
    const packIds = Array.from({ length: packs }, () => take(ID_BYTES).toString('hex'));
    const ids = Buffer.from(copy(capacity * ID_BYTES));
    const pack = new Uint32Array(copy(capacity * 4));
    const offset = new Float64Array(copy(capacity * 8));
    const length = new Uint32Array(copy(capacity * 4));
    const uncompressed = new Uint32Array(copy(capacity * 4));
    const types = new Uint8Array(copy(capacity));
    if (at !== data.length) throw new RangeError('index table has trailing bytes');
    Object.assign(this, { capacity, count, ids, pack, offset, length, uncompressed, types });
    packIds.forEach((id, p) => {
      this.packIds.push(id);
      this.packNumber.set(id, p);
    });
  }

  /**
   * Makes room for `blobs` in all without growing again: callers that know how many blobs are
   * coming (an index file) save the table the copies of growing one doubling at a time.
   */
  reserve(blobs: number): void {
    if (blobs > this.capacity * MAX_LOAD) this.resize(tableSize(blobs));
  }

  private at(slot: number, id: string): BlobLocation {
    const u = this.uncompressed[slot]!;
    return {
      id,
      type: this.types[slot] === 1 ? 'tree' : 'data',
      packId: this.packIds[this.pack[slot]!]!,
      offset: this.offset[slot]!,
      length: this.length[slot]!,
      uncompressedLength: u === 0 ? undefined : u,
    };
  }

  private find(type: BlobType, id: string): number {
    if (!writeIdBytes(id, this.scratch, 0)) return EMPTY;
    return this.findBytes(type === 'tree' ? 1 : 0, this.scratch, 0);
  }

  /** The slot of the blob of type `t` (1: tree) whose id is the 32 bytes at `at` in `key`. */
  private findBytes(t: number, key: Buffer, at: number): number {
    const mask = this.capacity - 1;
    const first = slotHash(key, at);
    for (let slot = first & mask; ; slot = (slot + 1) & mask) {
      if (this.pack[slot] === EMPTY) return EMPTY;
      // The first four bytes settle almost every probe without a call into Buffer's native compare.
      if (this.types[slot] === t && slotHash(this.ids, slot * ID_BYTES) === first && this.ids.compare(key, at, at + ID_BYTES, slot * ID_BYTES, (slot + 1) * ID_BYTES) === 0) {
        return slot;
      }
    }
  }

  private insert(packNo: number, b: PackedBlob): void {
    // find() leaves the id's bytes in `scratch`, which place() then copies into the table.
    if (this.find(b.type, b.id) !== EMPTY) {
      const key = b.type + b.id;
      const extra = this.duplicates.get(key) ?? [];
      extra.push({ ...b, packId: this.packIds[packNo]! });
      this.duplicates.set(key, extra);
      return;
    }
    this.reserve(this.count + 1);
    this.place(packNo, this.scratch, 0, b.type === 'tree' ? 1 : 0, b.offset, b.length, b.uncompressedLength ?? 0);
    this.count++;
  }

  private place(packNo: number, src: Buffer, at: number, type: number, offset: number, length: number, u: number): void {
    const mask = this.capacity - 1;
    let slot = slotHash(src, at) & mask;
    while (this.pack[slot] !== EMPTY) slot = (slot + 1) & mask;
    const ids = this.ids;
    const to = slot * ID_BYTES;
    for (let i = 0; i < ID_BYTES; i++) ids[to + i] = src[at + i]!;
    this.pack[slot] = packNo;
    this.types[slot] = type;
    this.offset[slot] = offset;
    this.length[slot] = length;
    this.uncompressed[slot] = u;
  }

  private resize(capacity: number): void {
    const old = { ids: this.ids, pack: this.pack, offset: this.offset, length: this.length, u: this.uncompressed, types: this.types, capacity: this.capacity };
    this.capacity = capacity;
    this.ids = Buffer.alloc(capacity * ID_BYTES);
    this.pack = new Uint32Array(capacity).fill(EMPTY);
    this.offset = new Float64Array(capacity);
    this.length = new Uint32Array(capacity);
    this.uncompressed = new Uint32Array(capacity);
    this.types = new Uint8Array(capacity);
    for (let slot = 0; slot < old.capacity; slot++) {
      const p = old.pack[slot]!;
      if (p !== EMPTY) this.place(p, old.ids, slot * ID_BYTES, old.types[slot]!, old.offset[slot]!, old.length[slot]!, old.u[slot]!);
    }
  }
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
