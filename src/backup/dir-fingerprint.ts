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

export class FingerprintBuilder {
  private buffer = Buffer.allocUnsafe(4096);
  /** DataView writes of 64-bit fields are native; Buffer's are done in JavaScript, and were a tenth of a survey. */
  private view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.length);
  private length = 0;

  constructor(private readonly fingerprints: Fingerprints) {}

  /** Adds one kept entry, in tree order; `child` is a subdirectory's own fingerprint. */
  add(name: Buffer, st: BigIntStats, child: Buffer | undefined): void {
    const uid = Number(st.uid);
    const gid = Number(st.gid);
    const user = this.fingerprints.user(uid);
    const group = this.fingerprints.group(gid);
    this.reserve(4 + name.length + FIXED_SIZE + user.length + group.length + FINGERPRINT_SIZE);
    const b = this.buffer;
    const v = this.view;
    let at = this.length;
    v.setUint32(at, name.length, true);
    at += 4;
    at += name.copy(b, at);
    v.setUint32(at, Number(st.mode), true);
    v.setUint32(at + 4, uid, true);
    v.setUint32(at + 8, gid, true);
    v.setBigUint64(at + 12, st.ino, true);
    v.setBigUint64(at + 20, st.dev, true);
    v.setBigUint64(at + 28, st.size, true);
    v.setBigUint64(at + 36, st.nlink, true);
    v.setBigUint64(at + 44, st.rdev, true);
    v.setBigInt64(at + 52, st.mtimeNs, true);
    v.setBigInt64(at + 60, st.ctimeNs, true);
    at += FIXED_SIZE;
    at += user.copy(b, at);
    at += group.copy(b, at);
    if (child) at += child.copy(b, at);
    this.length = at;
  }

  finish(): Buffer {
    return createHash('sha256').update(this.buffer.subarray(0, this.length)).digest();
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.length);
  }
}
