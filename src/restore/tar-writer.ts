// A streaming tar writer: ustar headers with a PAX header before any entry ustar cannot hold exactly
// (long or non-ASCII names, 8 GiB sizes, large ids, nanosecond times, xattrs), as GNU tar reads them.

import type { Writable } from 'node:stream';
import { writeAll } from './stream-write.js';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'chardev' | 'blockdev';

export interface TarHeader {
  /** Path inside the archive, raw bytes, without a leading slash (directories get a trailing one here). */
  readonly name: Buffer;
  readonly type: TarEntryType;
  /** Permission bits with setuid, setgid and sticky. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly uname: string;
  readonly gname: string;
  /** Content bytes (files only). */
  readonly size: bigint;
  /** Nanoseconds since the epoch. */
  readonly mtimeNs: bigint;
  /** Symlink target, or the earlier entry a hard link points to. */
  readonly linkName?: Buffer;
  readonly devMajor?: number;
  readonly devMinor?: number;
  readonly xattrs?: readonly { readonly name: string; readonly value: Buffer }[];
}

const BLOCK = 512;
const typeFlags: Record<TarEntryType, string> = { file: '0', hardlink: '1', symlink: '2', chardev: '3', blockdev: '4', dir: '5', fifo: '6' };
const MAX_OCTAL_11 = 8n ** 11n - 1n;
const MAX_OCTAL_7 = 8 ** 7 - 1;
const NS = 1_000_000_000n;

function isAscii(b: Buffer): boolean {
  for (const byte of b) if (byte >= 0x80) return false;
  return true;
}

/** One PAX record: "<length> <key>=<value>\n", where the length counts the whole record. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

/** Splits a name into ustar's prefix (≤155) and name (≤100) fields at a slash, if it can be. */
function splitUstar(name: Buffer): [prefix: Buffer, name: Buffer] | undefined {
  if (name.length <= 100) return [Buffer.alloc(0), name];
  for (let i = Math.max(1, name.length - 101); i <= Math.min(155, name.length - 2); i++) {
    if (name[i] === 0x2f) return [name.subarray(0, i), name.subarray(i + 1)];
  }
  return undefined;
}

function field(block: Buffer, offset: number, length: number, value: Buffer | string): void {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  bytes.copy(block, offset, 0, Math.min(bytes.length, length));
}

function octal(block: Buffer, offset: number, length: number, value: bigint | number): void {
  field(block, offset, length, value.toString(8).padStart(length - 1, '0'));
}

/** Seconds with up to nine decimals, as PAX writes times. */
function paxTime(ns: bigint): string {
  const negative = ns < 0n;
  const abs = negative ? -ns : ns;
  const frac = (abs % NS).toString().padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${abs / NS}${frac ? '.' + frac : ''}`;
}

export class TarWriter {
  private paxCount = 0;

  constructor(private readonly out: Writable) {}

  /** Writes one entry; a file's `content` must yield exactly `size` bytes. */
  async add(header: TarHeader, content?: AsyncIterable<Buffer>): Promise<void> {
    const name = header.type === 'dir' && header.name[header.name.length - 1] !== 0x2f ? Buffer.concat([header.name, Buffer.from('/')]) : header.name;
    const linkName = header.linkName ?? Buffer.alloc(0);
    const size = header.type === 'file' ? header.size : 0n;
    const seconds = header.mtimeNs >= 0n ? header.mtimeNs / NS : -1n;
    const pax: Buffer[] = [];
    // Names that are not UTF-8 go into PAX records as raw bytes, which GNU tar extracts as they
    // are (it ignores the hdrcharset keyword that would announce them, and warns about it).
    const split = isAscii(name) ? splitUstar(name) : undefined;
    if (!split) pax.push(paxRecord('path', name));
    if (linkName.length > 100 || !isAscii(linkName)) pax.push(paxRecord('linkpath', linkName));
    if (size > MAX_OCTAL_11) pax.push(paxRecord('size', Buffer.from(String(size))));
    if (header.uid > MAX_OCTAL_7) pax.push(paxRecord('uid', Buffer.from(String(header.uid))));
    if (header.gid > MAX_OCTAL_7) pax.push(paxRecord('gid', Buffer.from(String(header.gid))));
    const uname = Buffer.from(header.uname);
    const gname = Buffer.from(header.gname);
    if (uname.length > 31 || !isAscii(uname)) pax.push(paxRecord('uname', uname));
    if (gname.length > 31 || !isAscii(gname)) pax.push(paxRecord('gname', gname));
    if (header.mtimeNs % NS !== 0n || seconds < 0n || seconds > MAX_OCTAL_11) pax.push(paxRecord('mtime', Buffer.from(paxTime(header.mtimeNs))));
    for (const x of header.xattrs ?? []) pax.push(paxRecord(`SCHILY.xattr.${x.name}`, x.value));
    if (pax.length > 0) {
      const body = Buffer.concat(pax);
      const paxName = Buffer.from(`PaxHeaders.${++this.paxCount}`);
      await this.write(this.header(paxName, Buffer.alloc(0), 'x', 0o644, 0, 0, '', '', BigInt(body.length), seconds < 0n ? 0n : seconds, Buffer.alloc(0), 0, 0));
      await this.write(body);
      await this.pad(body.length);
    }
    const [prefix, short] = split ?? [Buffer.alloc(0), name.subarray(Math.max(0, name.length - 100))];
    await this.write(
      this.header(
        short,
        prefix,
        typeFlags[header.type],
        header.mode,
        Math.min(header.uid, MAX_OCTAL_7),
        Math.min(header.gid, MAX_OCTAL_7),
        uname.length > 31 || !isAscii(uname) ? '' : header.uname,
        gname.length > 31 || !isAscii(gname) ? '' : header.gname,
        size > MAX_OCTAL_11 ? 0n : size,
        seconds < 0n ? 0n : seconds > MAX_OCTAL_11 ? MAX_OCTAL_11 : seconds,
        linkName.length > 100 || !isAscii(linkName) ? Buffer.alloc(0) : linkName,
        header.devMajor ?? 0,
        header.devMinor ?? 0,
      ),
    );
    if (!content) return;
    let written = 0n;
    for await (const chunk of content) {
      await this.write(chunk);
      written += BigInt(chunk.length);
    }
    if (written !== size) throw new Error(`tar entry ${name.toString()}: content has ${written} bytes, the header says ${size}`);
    await this.pad(Number(size % BigInt(BLOCK)));
  }

  /** The end of the archive: two zero blocks. */
  async finish(): Promise<void> {
    await this.write(Buffer.alloc(2 * BLOCK));
  }

  private header(
    name: Buffer,
    prefix: Buffer,
    type: string,
    mode: number,
    uid: number,
    gid: number,
    uname: string,
    gname: string,
    size: bigint,
    mtime: bigint,
    linkName: Buffer,
    devMajor: number,
    devMinor: number,
  ): Buffer {
    const block = Buffer.alloc(BLOCK);
    field(block, 0, 100, name);
    octal(block, 100, 8, mode & 0o7777);
    octal(block, 108, 8, uid);
    octal(block, 116, 8, gid);
    octal(block, 124, 12, size);
    octal(block, 136, 12, mtime);
    field(block, 148, 8, '        ');
    field(block, 156, 1, type);
    field(block, 157, 100, linkName);
    field(block, 257, 6, 'ustar\0');
    field(block, 263, 2, '00');
    field(block, 265, 32, uname);
    field(block, 297, 32, gname);
    octal(block, 329, 8, devMajor);
    octal(block, 337, 8, devMinor);
    field(block, 345, 155, prefix);
    let sum = 0;
    for (const byte of block) sum += byte;
    field(block, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    return block;
  }

  private async pad(length: number): Promise<void> {
    const rest = length % BLOCK;
    if (rest !== 0) await this.write(Buffer.alloc(BLOCK - rest));
  }

  private write(data: Buffer): Promise<void> {
    return writeAll(this.out, data);
  }
}
