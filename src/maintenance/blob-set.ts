// A set of blob handles (type + 32-byte id) in flat typed arrays, each with a small flag: prune
// and copy hold one entry per blob of the repository, where a Set of strings would cost ten times more.

import type { BlobType } from '../format/pack.js';

const ID_BYTES = 32;
/** Slot types: 0 marks an empty slot. */
const EMPTY = 0;
const typeCode = (type: BlobType): number => (type === 'tree' ? 2 : 1);

export class BlobSet {
  private capacity: number;
  private count = 0;
  private ids: Buffer;
  private types: Uint8Array;
  private flags: Uint8Array;
  private readonly key = Buffer.alloc(ID_BYTES);

  /** `expected`: how many blobs the set will probably hold, so that it need not grow. */
  constructor(expected = 1024) {
    this.capacity = 16;
    while (this.capacity * 3 < expected * 4) this.capacity *= 2;
    this.ids = Buffer.alloc(this.capacity * ID_BYTES);
    this.types = new Uint8Array(this.capacity);
    this.flags = new Uint8Array(this.capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Empties the set and gives its memory back. */
  clear(): void {
    this.capacity = 16;
    this.count = 0;
    this.ids = Buffer.alloc(this.capacity * ID_BYTES);
    this.types = new Uint8Array(this.capacity);
    this.flags = new Uint8Array(this.capacity);
  }

  /** Adds a blob with a flag; returns false if it was already present (its flag is unchanged). */
  add(type: BlobType, id: string, flag = 0): boolean {
    if (this.find(typeCode(type), this.hexKey(id), 0) >= 0) return false;
    if ((this.count + 1) * 4 > this.capacity * 3) this.grow();
    this.place(typeCode(type), this.key, 0, flag);
    this.count++;
    return true;
  }

  has(type: BlobType, id: string): boolean {
    return this.find(typeCode(type), this.hexKey(id), 0) >= 0;
  }

  /** The blob's flag, or -1 when the blob is not in the set. */
  flag(type: BlobType, id: string): number {
    return this.flagAt(type, this.hexKey(id), 0);
  }

  /** Like flag(), for an id given as the 32 bytes at `at` in `bytes`. */
  flagAt(type: BlobType, bytes: Buffer, at: number): number {
    const slot = this.find(typeCode(type), bytes, at);
    return slot < 0 ? -1 : this.flags[slot]!;
  }

  /** Sets the flag of a blob in the set; returns false (and adds nothing) when it is not in the set. */
  setFlag(type: BlobType, id: string, flag: number): boolean {
    return this.setFlagAt(type, this.hexKey(id), 0, flag);
  }

  setFlagAt(type: BlobType, bytes: Buffer, at: number, flag: number): boolean {
    const slot = this.find(typeCode(type), bytes, at);
    if (slot < 0) return false;
    this.flags[slot] = flag;
    return true;
  }

  /** Every blob with its flag (or only those with flag `only`), in no particular order. */
  *entries(only?: number): IterableIterator<{ type: BlobType; id: string; flag: number }> {
    for (let slot = 0; slot < this.capacity; slot++) {
      const t = this.types[slot]!;
      if (t === EMPTY || (only !== undefined && this.flags[slot] !== only)) continue;
      yield { type: t === 2 ? 'tree' : 'data', id: this.ids.toString('hex', slot * ID_BYTES, (slot + 1) * ID_BYTES), flag: this.flags[slot]! };
    }
  }

  /** The id's bytes, in `key` (which add() then copies into the table). */
  private hexKey(id: string): Buffer {
    if (this.key.write(id, 0, 'hex') !== ID_BYTES) throw new Error(`invalid blob id "${id}"`);
    return this.key;
  }

  private find(t: number, src: Buffer, at: number): number {
    const mask = this.capacity - 1;
    for (let slot = (src.readUInt32LE(at) ^ t) & mask; ; slot = (slot + 1) & mask) {
      const st = this.types[slot]!;
      if (st === EMPTY) return -1;
      if (st === t && this.ids.compare(src, at, at + ID_BYTES, slot * ID_BYTES, (slot + 1) * ID_BYTES) === 0) return slot;
    }
  }

  private place(t: number, src: Buffer, at: number, flag: number): void {
    const mask = this.capacity - 1;
    let slot = (src.readUInt32LE(at) ^ t) & mask;
    while (this.types[slot] !== EMPTY) slot = (slot + 1) & mask;
    src.copy(this.ids, slot * ID_BYTES, at, at + ID_BYTES);
    this.types[slot] = t;
    this.flags[slot] = flag;
  }

  private grow(): void {
    const old = { ids: this.ids, types: this.types, flags: this.flags, capacity: this.capacity };
    this.capacity *= 2;
    this.ids = Buffer.alloc(this.capacity * ID_BYTES);
    this.types = new Uint8Array(this.capacity);
    this.flags = new Uint8Array(this.capacity);
    for (let slot = 0; slot < old.capacity; slot++) {
      const t = old.types[slot]!;
      if (t !== EMPTY) this.place(t, old.ids, slot * ID_BYTES, old.flags[slot]!);
    }
  }
}
