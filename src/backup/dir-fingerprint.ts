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
  private bytes: Buffer = Buffer.allocUnsafe(FIXED_SIZE * 16);
  private view = viewOf(this.bytes);
  private count = 0;

  push(st: BigIntStats): void {
    const at = this.count * FIXED_SIZE;
    if (at + FIXED_SIZE > this.bytes.length) {
      this.bytes = grown(this.bytes, at, at + FIXED_SIZE);
      this.view = viewOf(this.bytes);
    }
    writeFixed(this.view, at, st);
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

/** A buffer of at least `needed` bytes (twice the old size, or more) holding the first `used` of `b`. */
function grown(b: Buffer, used: number, needed: number): Buffer {
  const bigger = Buffer.allocUnsafe(Math.max(b.length * 2, needed));
  b.copy(bigger, 0, 0, used);
  return bigger;
}

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
  private buffer: Buffer = Buffer.allocUnsafe(4096);
  private view = viewOf(this.buffer);
  private length = 0;

  constructor(private readonly fingerprints: Fingerprints) {}

  /** Adds one kept entry, in tree order; `child` is a subdirectory's own fingerprint. */
  add(name: Buffer, st: BigIntStats, child: Buffer | undefined): void {
    this.append(name, Number(st.uid), Number(st.gid), child, (at) => writeFixed(this.view, at, st));
  }

  /** Adds the `i`th entry of `fields`, as `add` does its lstat. */
  addFields(name: Buffer, fields: EntryFields, i: number, child: Buffer | undefined): void {
    const fixed = fields.fixed(i);
    this.append(name, fixed.readUInt32LE(UID_AT), fixed.readUInt32LE(GID_AT), child, (at) => fixed.copy(this.buffer, at));
  }

  finish(): Buffer {
    return createHash('sha256').update(this.buffer.subarray(0, this.length)).digest();
  }

  /** Appends name, fixed fields (written by `writeFixedAt`), user and group names, and the child's fingerprint. */
  private append(name: Buffer, uid: number, gid: number, child: Buffer | undefined, writeFixedAt: (at: number) => void): void {
    const user = this.fingerprints.user(uid);
    const group = this.fingerprints.group(gid);
    const needed = this.length + 4 + name.length + FIXED_SIZE + user.length + group.length + FINGERPRINT_SIZE;
    if (needed > this.buffer.length) {
      this.buffer = grown(this.buffer, this.length, needed);
      this.view = viewOf(this.buffer);
    }
    const b = this.buffer;
    let at = this.length;
    this.view.setUint32(at, name.length, true);
    at += 4;
    at += name.copy(b, at);
    writeFixedAt(at);
    at += FIXED_SIZE;
    at += user.copy(b, at);
    at += group.copy(b, at);
    if (child) at += child.copy(b, at);
    this.length = at;
  }
}
