// A streaming zip writer shaped like restic's dump (Go's archive/zip): stored entries, data
// descriptors, Unix modes in the external attributes, Zip64 records when sizes or counts need them.

import { isUtf8 } from 'node:buffer';
import type { Writable } from 'node:stream';
import { crc32 } from './crc32.js';
import { writeAll } from './stream-write.js';

export interface ZipHeader {
  /** Path inside the archive without a leading slash; directories get a trailing one here. */
  readonly name: Buffer;
  readonly kind: 'file' | 'dir' | 'symlink';
  /** Permission bits with setuid, setgid and sticky. */
  readonly mode: number;
  /** Nanoseconds since the epoch. */
  readonly mtimeNs: bigint;
}

interface CentralEntry {
  readonly name: Buffer;
  readonly flags: number;
  readonly dosTime: number;
  readonly dosDate: number;
  readonly crc: number;
  readonly size: number;
  readonly offset: number;
  readonly externalAttributes: number;
  readonly unixTime: number | undefined;
}

const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
const FLAG_DATA_DESCRIPTOR = 0x8;
const FLAG_UTF8 = 0x800;
/** Made by Unix (3), spec version 4.5 (Zip64). */
const VERSION_MADE_BY = (3 << 8) | 45;
const VERSION_NEEDED = 45;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** MS-DOS date and time fields of a time (local time, two-second steps; 1980 is the earliest). */
function dosDateTime(ms: number): [time: number, date: number] {
  const d = new Date(ms);
  if (d.getFullYear() < 1980) return [0, (1 << 5) | 1];
  const time = (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1);
  const date = ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate();
  return [time, date];
}

/** The "extended timestamp" extra field (0x5455) with the modification time, as Go writes it. */
function timeExtra(unixTime: number): Buffer {
  const b = Buffer.alloc(9);
  b.writeUInt16LE(0x5455, 0);
  b.writeUInt16LE(5, 2);
  b.writeUInt8(1, 4);
  b.writeUInt32LE(unixTime >>> 0, 5);
  return b;
}

export class ZipWriter {
  private offset = 0;
  private readonly entries: CentralEntry[] = [];

  constructor(private readonly out: Writable) {}

  /** Writes one entry; a file's content (or a symlink's target) comes from `content`. */
  async add(header: ZipHeader, content?: AsyncIterable<Buffer>): Promise<void> {
    const name = header.kind === 'dir' && header.name[header.name.length - 1] !== 0x2f ? Buffer.concat([header.name, Buffer.from('/')]) : header.name;
    const flags = FLAG_DATA_DESCRIPTOR | (isUtf8(name) ? FLAG_UTF8 : 0);
    const ms = Number(header.mtimeNs / 1_000_000n);
    const [dosTime, dosDate] = dosDateTime(ms);
    const seconds = Math.floor(ms / 1000);
    const unixTime = seconds >= 0 && seconds <= MAX32 ? seconds : undefined;
    const extra = unixTime === undefined ? Buffer.alloc(0) : timeExtra(unixTime);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION_NEEDED, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(0, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    // CRC and sizes follow in the data descriptor.
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const offset = this.offset;
    await this.write(Buffer.concat([local, name, extra]));
    let crc = 0;
    let size = 0;
    if (content) {
      for await (const chunk of content) {
        crc = crc32(chunk, crc);
        size += chunk.length;
        await this.write(chunk);
      }
    }
    // The descriptor's sizes are 8 bytes when Zip64 is needed, which the central directory says.
    const descriptor = Buffer.alloc(size >= MAX32 ? 24 : 16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc, 4);
    if (size >= MAX32) {
      descriptor.writeBigUInt64LE(BigInt(size), 8);
      descriptor.writeBigUInt64LE(BigInt(size), 16);
    } else {
      descriptor.writeUInt32LE(size, 8);
      descriptor.writeUInt32LE(size, 12);
    }
    await this.write(descriptor);
    const type = header.kind === 'dir' ? S_IFDIR : header.kind === 'symlink' ? S_IFLNK : S_IFREG;
    const externalAttributes = (((type | (header.mode & 0o7777)) << 16) | (header.kind === 'dir' ? 0x10 : 0)) >>> 0;
    this.entries.push({ name, flags, dosTime, dosDate, crc, size, offset, externalAttributes, unixTime });
  }

  /** The central directory and its end records. */
  async finish(): Promise<void> {
    const start = this.offset;
    for (const e of this.entries) await this.write(this.central(e));
    const size = this.offset - start;
    const count = this.entries.length;
    if (count >= MAX16 || start >= MAX32 || size >= MAX32) {
      const end64 = Buffer.alloc(56);
      end64.writeUInt32LE(0x06064b50, 0);
      end64.writeBigUInt64LE(44n, 4);
      end64.writeUInt16LE(VERSION_MADE_BY, 12);
      end64.writeUInt16LE(VERSION_NEEDED, 14);
      end64.writeBigUInt64LE(BigInt(count), 24);
      end64.writeBigUInt64LE(BigInt(count), 32);
      end64.writeBigUInt64LE(BigInt(size), 40);
      end64.writeBigUInt64LE(BigInt(start), 48);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeBigUInt64LE(BigInt(this.offset), 8);
      locator.writeUInt32LE(1, 16);
      await this.write(Buffer.concat([end64, locator]));
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(Math.min(count, MAX16), 8);
    end.writeUInt16LE(Math.min(count, MAX16), 10);
    end.writeUInt32LE(Math.min(size, MAX32), 12);
    end.writeUInt32LE(Math.min(start, MAX32), 16);
    await this.write(end);
  }

  private central(e: CentralEntry): Buffer {
    const zip64: bigint[] = [];
    if (e.size >= MAX32) zip64.push(BigInt(e.size), BigInt(e.size));
    if (e.offset >= MAX32) zip64.push(BigInt(e.offset));
    const extras: Buffer[] = [];
    if (zip64.length > 0) {
      const z = Buffer.alloc(4 + 8 * zip64.length);
      z.writeUInt16LE(0x0001, 0);
      z.writeUInt16LE(8 * zip64.length, 2);
      zip64.forEach((v, i) => z.writeBigUInt64LE(v, 4 + 8 * i));
      extras.push(z);
    }
    if (e.unixTime !== undefined) extras.push(timeExtra(e.unixTime));
    const extra = Buffer.concat(extras);
    const h = Buffer.alloc(46);
    h.writeUInt32LE(0x02014b50, 0);
    h.writeUInt16LE(VERSION_MADE_BY, 4);
    h.writeUInt16LE(VERSION_NEEDED, 6);
    h.writeUInt16LE(e.flags, 8);
    h.writeUInt16LE(0, 10);
    h.writeUInt16LE(e.dosTime, 12);
    h.writeUInt16LE(e.dosDate, 14);
    h.writeUInt32LE(e.crc, 16);
    h.writeUInt32LE(Math.min(e.size, MAX32), 20);
    h.writeUInt32LE(Math.min(e.size, MAX32), 24);
    h.writeUInt16LE(e.name.length, 28);
    h.writeUInt16LE(extra.length, 30);
    h.writeUInt32LE(e.externalAttributes, 38);
    h.writeUInt32LE(Math.min(e.offset, MAX32), 42);
    return Buffer.concat([h, e.name, extra]);
  }

  private async write(data: Buffer): Promise<void> {
    await writeAll(this.out, data);
    this.offset += data.length;
  }
}
