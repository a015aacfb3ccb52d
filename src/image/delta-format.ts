// The delta file (format version 1, documented in docs/images.md): the blocks an image changed after
// a base generation, with positions, base and new SHA-256, data, and a trailing SHA-256 of it all.

import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { corrupt, HoldfastError } from '../errors.js';
import { LINEAGE_BYTES } from './block-directory.js';

const DELTA_MAGIC = Buffer.from('HFDELTA\0', 'latin1');
const DELTA_END = Buffer.from('HFDEND\0\0', 'latin1');
const DELTA_VERSION = 1;
const FIXED_HEADER = 144;
const SAMPLE_SIZE = 40;
const ENTRY_HEADER = 80;
const TRAILER = DELTA_END.length + 32;

export interface DeltaHeader {
  readonly name: string;
  readonly blockSize: number;
  readonly baseVolumeSize: number;
  readonly volumeSize: number;
  readonly baseGeneration: number;
  readonly generation: number;
  readonly lineage: Buffer;
  readonly baseSnapshot: string;
  readonly snapshot: string;
  readonly entryCount: number;
  /** Unchanged blocks and their SHA-256, checked on the target before anything is written. */
  readonly samples: readonly { readonly block: number; readonly sha256: Buffer }[];
}

export interface DeltaEntry {
  readonly block: number;
  /** Bytes of the block in the new image. */
  readonly length: number;
  /** Zero entries carry no data: the block becomes zeros (unused or all-zero). */
  readonly kind: 'data' | 'zero';
  /** SHA-256 of the block in the base image; undefined when the block lies beyond the base's end. */
  readonly baseSha256: Buffer | undefined;
  readonly sha256: Buffer;
}

const kinds = { data: 1, zero: 2 } as const;
const NO_BASE = 1;

function encodeHeader(h: DeltaHeader): Buffer {
  const name = Buffer.from(h.name, 'utf8');
  const length = FIXED_HEADER + name.length + h.samples.length * SAMPLE_SIZE;
  const b = Buffer.alloc(length);
  DELTA_MAGIC.copy(b, 0);
  b.writeUInt32LE(DELTA_VERSION, 8);
  b.writeUInt32LE(length, 12);
  b.writeUInt32LE(h.blockSize, 16);
  b.writeUInt16LE(name.length, 20);
  b.writeBigUInt64LE(BigInt(h.baseVolumeSize), 24);
  b.writeBigUInt64LE(BigInt(h.volumeSize), 32);
  b.writeUInt32LE(h.baseGeneration, 40);
  b.writeUInt32LE(h.generation, 44);
  b.writeBigUInt64LE(BigInt(h.entryCount), 48);
  b.writeUInt32LE(h.samples.length, 56);
  h.lineage.copy(b, 64);
  b.write(h.baseSnapshot, 80, 'hex');
  b.write(h.snapshot, 112, 'hex');
  let at = FIXED_HEADER + name.copy(b, FIXED_HEADER);
  for (const s of h.samples) {
    b.writeBigUInt64LE(BigInt(s.block), at);
    s.sha256.copy(b, at + 8);
    at += SAMPLE_SIZE;
  }
  return b;
}

function encodeEntryHeader(e: DeltaEntry): Buffer {
  const b = Buffer.alloc(ENTRY_HEADER);
  b.writeBigUInt64LE(BigInt(e.block), 0);
  b.writeUInt32LE(e.length, 8);
  b[12] = kinds[e.kind];
  b[13] = e.baseSha256 === undefined ? NO_BASE : 0;
  e.baseSha256?.copy(b, 16);
  e.sha256.copy(b, 48);
  return b;
}

/**
 * Writes a delta file: header, entries in any order, trailer. It is written under a temporary
 * name and renamed into place by finish(), so a failed export leaves no half file behind.
 */
export class DeltaWriter {
  private readonly hash: Hash = createHash('sha256');
  private position = 0;
  private written = 0;
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
    private readonly temporary: string,
    private readonly header: DeltaHeader,
  ) {}

  static async create(path: string, header: DeltaHeader): Promise<DeltaWriter> {
    const temporary = `${path}.partial-${process.pid}`;
    const fh = await open(temporary, 'w', 0o600).catch((err: Error) => {
      throw new HoldfastError('ERR_IO', `cannot create ${path}: ${err.message}`);
    });
    const writer = new DeltaWriter(fh, path, temporary, header);
    await writer.append(encodeHeader(header));
    return writer;
  }

  private async append(data: Uint8Array, hashed = true): Promise<void> {
    if (hashed) this.hash.update(data);
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, this.position + done);
      done += bytesWritten;
    }
    this.position += data.length;
  }

  /** Appends one entry (with its data for a data entry); calls are serialised. */
  entry(e: DeltaEntry, data?: Uint8Array): Promise<void> {
    const next = this.queue.then(async () => {
      await this.append(encodeEntryHeader(e));
      if (e.kind === 'data') await this.append(data!);
      this.written++;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Writes the trailer and moves the file into place; returns its size. */
  async finish(): Promise<number> {
    await this.queue;
    if (this.written !== this.header.entryCount) throw new Error(`delta has ${this.written} entries, its header says ${this.header.entryCount}`);
    await this.append(DELTA_END);
    await this.append(this.hash.digest(), false);
    await this.fh.sync();
    await this.fh.close();
    await rename(this.temporary, this.path);
    return this.position;
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await rm(this.temporary, { force: true });
  }
}

/** A delta file opened for reading: its trailer verified, its header parsed. */
export class DeltaReader {
  private constructor(
    private readonly fh: FileHandle,
    readonly header: DeltaHeader,
    private readonly entriesStart: number,
    private readonly entriesEnd: number,
    private readonly path: string,
  ) {}

  /** Opens `path`; a damaged or truncated file (trailing SHA-256 mismatch) is refused here. */
  static async open(path: string): Promise<DeltaReader> {
    const fh = await open(path, 'r').catch((err: Error) => {
      throw new HoldfastError('ERR_NOT_FOUND', `cannot open delta file ${path}: ${err.message}`);
    });
    try {
      const size = (await fh.stat()).size;
      const head = Buffer.alloc(Math.min(size, FIXED_HEADER));
      await fh.read(head, 0, head.length, 0);
      if (head.length < FIXED_HEADER || !head.subarray(0, 8).equals(DELTA_MAGIC)) throw corrupt(`${path} is not a holdfast delta file`);
      const version = head.readUInt32LE(8);
      if (version !== DELTA_VERSION) throw new HoldfastError('ERR_UNSUPPORTED', `${path}: delta format version ${version} is not supported (this holdfast reads version ${DELTA_VERSION})`);
      await verifyTrailer(fh, size, path);
      const headerLength = head.readUInt32LE(12);
      const full = Buffer.alloc(headerLength);
      await fh.read(full, 0, headerLength, 0);
      return new DeltaReader(fh, decodeHeader(full, path), headerLength, size - TRAILER, path);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Entries in file order, each with its data for data entries. */
  async *entries(withData: boolean): AsyncGenerator<{ entry: DeltaEntry; data: Buffer | undefined }> {
    let at = this.entriesStart;
    const head = Buffer.alloc(ENTRY_HEADER);
    for (let n = 0; n < this.header.entryCount; n++) {
      if (at + ENTRY_HEADER > this.entriesEnd) throw corrupt(`${this.path}: entry ${n} lies beyond the end of the entries`);
      await this.fh.read(head, 0, ENTRY_HEADER, at);
      const entry = decodeEntryHeader(head, this.path);
      at += ENTRY_HEADER;
      let data: Buffer | undefined;
      if (entry.kind === 'data') {
        if (withData) {
          data = Buffer.allocUnsafe(entry.length);
          await this.fh.read(data, 0, entry.length, at);
        }
        at += entry.length;
      }
      yield { entry, data };
    }
    if (at !== this.entriesEnd) throw corrupt(`${this.path}: ${this.entriesEnd - at} bytes follow the last entry`);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

async function verifyTrailer(fh: FileHandle, size: number, path: string): Promise<void> {
  if (size < FIXED_HEADER + TRAILER) throw corrupt(`${path} is truncated`);
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(4 << 20);
  const end = size - 32;
  for (let at = 0; at < end; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - at), at);
    if (bytesRead === 0) throw corrupt(`${path}: short read at byte ${at}`);
    hash.update(buf.subarray(0, bytesRead));
    at += bytesRead;
  }
  const trailer = Buffer.alloc(TRAILER);
  await fh.read(trailer, 0, TRAILER, size - TRAILER);
  if (!trailer.subarray(0, DELTA_END.length).equals(DELTA_END) || !trailer.subarray(DELTA_END.length).equals(hash.digest())) {
    throw corrupt(`${path} is damaged or incomplete: its trailing SHA-256 does not match its content; nothing was written`);
  }
}

function decodeHeader(b: Buffer, path: string): DeltaHeader {
  const nameLength = b.readUInt16LE(20);
  const sampleCount = b.readUInt32LE(56);
  if (b.length !== FIXED_HEADER + nameLength + sampleCount * SAMPLE_SIZE) throw corrupt(`${path}: header length does not agree`);
  const samples: { block: number; sha256: Buffer }[] = [];
  let at = FIXED_HEADER + nameLength;
  for (let k = 0; k < sampleCount; k++, at += SAMPLE_SIZE) {
    samples.push({ block: Number(b.readBigUInt64LE(at)), sha256: Buffer.from(b.subarray(at + 8, at + 40)) });
  }
  return {
    name: b.toString('utf8', FIXED_HEADER, FIXED_HEADER + nameLength),
    blockSize: b.readUInt32LE(16),
    baseVolumeSize: Number(b.readBigUInt64LE(24)),
    volumeSize: Number(b.readBigUInt64LE(32)),
    baseGeneration: b.readUInt32LE(40),
    generation: b.readUInt32LE(44),
    entryCount: Number(b.readBigUInt64LE(48)),
    lineage: Buffer.from(b.subarray(64, 64 + LINEAGE_BYTES)),
    baseSnapshot: b.toString('hex', 80, 112),
    snapshot: b.toString('hex', 112, 144),
    samples,
  };
}

function decodeEntryHeader(b: Buffer, path: string): DeltaEntry {
  const kind = b[12] === kinds.data ? 'data' : b[12] === kinds.zero ? 'zero' : undefined;
  if (kind === undefined) throw corrupt(`${path}: unknown entry kind ${b[12]}`);
  return {
    block: Number(b.readBigUInt64LE(0)),
    length: b.readUInt32LE(8),
    kind,
    baseSha256: (b[13]! & NO_BASE) !== 0 ? undefined : Buffer.from(b.subarray(16, 48)),
    sha256: Buffer.from(b.subarray(48, 80)),
  };
}
