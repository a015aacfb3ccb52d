// A directory's fingerprint: a hash of everything its tree is made from when no file in it has
// changed: each kept entry's name, the lstat fields its node is built from, the user and group
// names, and for a subdirectory that subdirectory's fingerprint. Equal fingerprints at the same
// path mean the tree would come out byte for byte as it did, so it can be reused unopened.
//
// The same lstat fields decide that a file is unchanged (size, mtime, ctime, inode) and that its
// symlink target and extended attributes are (ctime and inode): the fingerprint adds nothing a
// backup does not already trust.

import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import type { AccountNames } from '../fs/account-names.js';

export const FINGERPRINT_SIZE = 32;

/** The fixed part of an entry: mode, uid, gid; ino, dev, size, nlink, rdev, mtime, ctime. */
const FIXED_SIZE = 3 * 4 + 7 * 8;

/** Makes fingerprint builders; keeps each user and group name encoded once. */
export class Fingerprints {
  private readonly users = new Map<number, Buffer>();
  private readonly groups = new Map<number, Buffer>();

  constructor(private readonly names: AccountNames) {}

  builder(): FingerprintBuilder {
    return new FingerprintBuilder(this);
  }

  user(uid: number): Buffer {
    return cached(this.users, uid, (id) => this.names.user(id));
  }

  group(gid: number): Buffer {
    return cached(this.groups, gid, (id) => this.names.group(id));
  }
}

function cached(map: Map<number, Buffer>, id: number, name: (id: number) => string): Buffer {
  let bytes = map.get(id);
  if (!bytes) {
    const text = Buffer.from(name(id));
    bytes = Buffer.allocUnsafe(4 + text.length);
    bytes.writeUInt32LE(text.length, 0);
    text.copy(bytes, 4);
    map.set(id, bytes);
  }
  return bytes;
}

/**
 * The lstat fields a fingerprint takes of each entry of a directory, packed in the order they are
 * pushed. A walked directory needs them until its subdirectories are done; kept as BigIntStats,
 * objects ten times their size, they lived long enough to fill V8's old generation in a backup.
 */
export class EntryFields {
  private bytes = Buffer.allocUnsafe(FIXED_SIZE * 16);
  private view = viewOf(this.bytes);
  private count = 0;

  push(st: BigIntStats): void {
    if ((this.count + 1) * FIXED_SIZE > this.bytes.length) {
      const grown = Buffer.allocUnsafe(this.bytes.length * 2);
      this.bytes.copy(grown, 0, 0, this.count * FIXED_SIZE);
      this.bytes = grown;
      this.view = viewOf(grown);
    }
    writeFixed(this.view, this.count * FIXED_SIZE, st);
    this.count++;
  }

  /** The size of the `i`th entry. */
  size(i: number): number {
    return Number(this.view.getBigUint64(i * FIXED_SIZE + SIZE_AT, true));
  }

  /** The packed fields of the `i`th entry. */
  fixed(i: number): Buffer {
    return this.bytes.subarray(i * FIXED_SIZE, (i + 1) * FIXED_SIZE);
  }
}

/** DataView writes of 64-bit fields are native; Buffer's are done in JavaScript, and were a tenth of a survey. */
const viewOf = (b: Buffer) => new DataView(b.buffer, b.byteOffset, b.length);

const UID_AT = 4;
const GID_AT = 8;
const SIZE_AT = 28;

function writeFixed(v: DataView, at: number, st: BigIntStats): void {
  v.setUint32(at, Number(st.mode), true);
  v.setUint32(at + UID_AT, Number(st.uid), true);
  v.setUint32(at + GID_AT, Number(st.gid), true);
  v.setBigUint64(at + 12, st.ino, true);
  v.setBigUint64(at + 20, st.dev, true);
  v.setBigUint64(at + SIZE_AT, st.size, true);
  v.setBigUint64(at + 36, st.nlink, true);
  v.setBigUint64(at + 44, st.rdev, true);
  v.setBigInt64(at + 52, st.mtimeNs, true);
  v.setBigInt64(at + 60, st.ctimeNs, true);
}

export class FingerprintBuilder {
  private buffer = Buffer.allocUnsafe(4096);
  private view = viewOf(this.buffer);
  private length = 0;

  constructor(private readonly fingerprints: Fingerprints) {}

  /** Adds one kept entry, in tree order; `child` is a subdirectory's own fingerprint. */
  add(name: Buffer, st: BigIntStats, child: Buffer | undefined): void {
    const at = this.addName(name, FIXED_SIZE + this.namesLength(Number(st.uid), Number(st.gid)) + FINGERPRINT_SIZE);
    writeFixed(this.view, at, st);
    this.addRest(at, child);
  }

  /** Adds the `i`th entry of `fields`, as `add` does its lstat. */
  addFields(name: Buffer, fields: EntryFields, i: number, child: Buffer | undefined): void {
    const fixed = fields.fixed(i);
    const at = this.addName(name, FIXED_SIZE + this.namesLength(fixed.readUInt32LE(UID_AT), fixed.readUInt32LE(GID_AT)) + FINGERPRINT_SIZE);
    fixed.copy(this.buffer, at);
    this.addRest(at, child);
  }

  finish(): Buffer {
    return createHash('sha256').update(this.buffer.subarray(0, this.length)).digest();
  }

  private namesLength(uid: number, gid: number): number {
    return this.fingerprints.user(uid).length + this.fingerprints.group(gid).length;
  }

  /** Writes the name, with room for `more` bytes after it; returns where the fixed fields go. */
  private addName(name: Buffer, more: number): number {
    this.reserve(4 + name.length + more);
    this.view.setUint32(this.length, name.length, true);
    return this.length + 4 + name.copy(this.buffer, this.length + 4);
  }

  /** Writes the user and group names (of the fixed fields at `at`) and the child's fingerprint. */
  private addRest(at: number, child: Buffer | undefined): void {
    const b = this.buffer;
    let end = at + FIXED_SIZE;
    end += this.fingerprints.user(this.view.getUint32(at + UID_AT, true)).copy(b, end);
    end += this.fingerprints.group(this.view.getUint32(at + GID_AT, true)).copy(b, end);
    if (child) end += child.copy(b, end);
    this.length = end;
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
    this.view = viewOf(grown);
  }
}
