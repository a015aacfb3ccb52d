// The block directory's bytes (format version 1, documented in docs/images.md) and their cut into
// blobs: a header blob, then fixed runs of block records that deduplicate between generations.

import { corrupt, HoldfastError, invalidArgument } from '../errors.js';
import { BlockDirectory, type GenerationInfo, type GenerationMode, ID_BYTES, LINEAGE_BYTES } from './block-directory.js';

const DIRECTORY_MAGIC = Buffer.from('HFBLKDIR', 'latin1');
const DIRECTORY_VERSION = 1;
const FIXED_HEADER = 64;
const GENERATION_ENTRY = 56;
const RECORD_SIZE = ID_BYTES + 4;
/**
 * Records per blob. Records sit at fixed positions, so a blob changes only when one of its blocks
 * does; 4096 records (144 KiB) keep a changed region's cost small and the blob count low.
 */
export const RECORDS_PER_CHUNK = 4096;
const MAX_NAME_BYTES = 255;
const MAX_SOURCE_BYTES = 4096;

const modes: readonly GenerationMode[] = ['full', 'checksum', 'dirty-bitmap', 'changed-blocks'];

function truncateUtf8(text: string, max: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return bytes;
  // Cut on a character boundary: continuation bytes are 10xxxxxx.
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

function encodeHeader(dir: BlockDirectory): Buffer {
  const name = Buffer.from(dir.name, 'utf8');
  if (name.length > MAX_NAME_BYTES) throw invalidArgument(`image name "${dir.name}" is longer than ${MAX_NAME_BYTES} bytes`);
  const source = truncateUtf8(dir.source, MAX_SOURCE_BYTES);
  const length = FIXED_HEADER + name.length + source.length + dir.history.length * GENERATION_ENTRY;
  const h = Buffer.alloc(length);
  DIRECTORY_MAGIC.copy(h, 0);
  h.writeUInt32LE(DIRECTORY_VERSION, 8);
  h.writeUInt32LE(length, 12);
  h.writeUInt32LE(dir.blockSize, 16);
  h.writeUInt32LE(RECORD_SIZE, 20);
  h.writeBigUInt64LE(BigInt(dir.volumeSize), 24);
  h.writeBigUInt64LE(BigInt(dir.blockCount), 32);
  h.writeUInt32LE(dir.history.length, 40);
  h.writeUInt16LE(name.length, 44);
  h.writeUInt16LE(source.length, 46);
  dir.lineage.copy(h, 48);
  let at = FIXED_HEADER;
  at += name.copy(h, at);
  at += source.copy(h, at);
  for (const g of dir.history) {
    h.writeUInt32LE(g.generation, at);
    h[at + 4] = modes.indexOf(g.mode);
    h.writeBigUInt64LE(BigInt(g.changedBlocks), at + 8);
    h.writeBigInt64LE(g.timeNs, at + 16);
    if (g.snapshotId !== undefined) h.write(g.snapshotId, at + 24, 'hex');
    at += GENERATION_ENTRY;
  }
  return h;
}

/**
 * The directory as the blobs of a file's content, in order: the header (with the history), then
 * the records of RECORDS_PER_CHUNK blocks each. Their concatenation is the directory file.
 */
export function encodeBlockDirectory(dir: BlockDirectory): Buffer[] {
  const chunks = [encodeHeader(dir)];
  for (let first = 0; first < dir.blockCount; first += RECORDS_PER_CHUNK) {
    const count = Math.min(RECORDS_PER_CHUNK, dir.blockCount - first);
    const chunk = Buffer.allocUnsafe(count * RECORD_SIZE);
    for (let k = 0; k < count; k++) {
      const i = first + k;
      chunk.set(dir.ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES), k * RECORD_SIZE);
      chunk.writeUInt32LE(dir.generations[i]!, k * RECORD_SIZE + ID_BYTES);
    }
    chunks.push(chunk);
  }
  return chunks;
}

/** Reads a directory file's bytes; anything inconsistent is a corrupt() error naming `what`. */
export function decodeBlockDirectory(data: Buffer, what: string): BlockDirectory {
  const fail = (problem: string): never => {
    throw corrupt(`${what}: ${problem}`);
  };
  if (data.length < FIXED_HEADER || !data.subarray(0, 8).equals(DIRECTORY_MAGIC)) fail('not a holdfast block directory');
  const version = data.readUInt32LE(8);
  if (version !== DIRECTORY_VERSION) {
    throw new HoldfastError('ERR_UNSUPPORTED', `${what}: block directory format version ${version} is not supported by this holdfast (it reads version ${DIRECTORY_VERSION})`);
  }
  const headerLength = data.readUInt32LE(12);
  const blockSize = data.readUInt32LE(16);
  if (data.readUInt32LE(20) !== RECORD_SIZE) fail(`record size ${data.readUInt32LE(20)} is not ${RECORD_SIZE}`);
  const volumeSize = Number(data.readBigUInt64LE(24));
  const blockCount = Number(data.readBigUInt64LE(32));
  const generationCount = data.readUInt32LE(40);
  const nameLength = data.readUInt16LE(44);
  const sourceLength = data.readUInt16LE(46);
  if (!Number.isSafeInteger(volumeSize) || blockSize === 0 || blockCount !== Math.ceil(volumeSize / blockSize)) fail('sizes do not agree');
  if (headerLength !== FIXED_HEADER + nameLength + sourceLength + generationCount * GENERATION_ENTRY) fail('header length does not agree');
  if (data.length !== headerLength + blockCount * RECORD_SIZE) fail(`${data.length} bytes, expected ${headerLength + blockCount * RECORD_SIZE}`);
  if (generationCount === 0) fail('no generation');
  const lineage = Buffer.from(data.subarray(48, 48 + LINEAGE_BYTES));
  let at = FIXED_HEADER;
  const name = data.toString('utf8', at, at + nameLength);
  at += nameLength;
  const source = data.toString('utf8', at, at + sourceLength);
  at += sourceLength;
  const history: GenerationInfo[] = [];
  for (let g = 0; g < generationCount; g++, at += GENERATION_ENTRY) {
    const mode = modes[data[at + 4]!] ?? fail(`unknown generation mode ${data[at + 4]}`);
    const id = data.subarray(at + 24, at + 56);
    const generation = data.readUInt32LE(at);
    if (history.length > 0 && generation <= history[history.length - 1]!.generation) fail('generations out of order');
    history.push({
      generation,
      mode,
      changedBlocks: Number(data.readBigUInt64LE(at + 8)),
      timeNs: data.readBigInt64LE(at + 16),
      ...(id.every((b) => b === 0) ? {} : { snapshotId: id.toString('hex') }),
    });
  }
  const ids = new Uint8Array(blockCount * ID_BYTES);
  const generations = new Uint32Array(blockCount);
  const last = history[history.length - 1]!.generation;
  for (let i = 0; i < blockCount; i++, at += RECORD_SIZE) {
    ids.set(data.subarray(at, at + ID_BYTES), i * ID_BYTES);
    const g = data.readUInt32LE(at + ID_BYTES);
    if (g === 0 || g > last) fail(`block ${i} has generation ${g}, outside 1..${last}`);
    generations[i] = g;
  }
  try {
    return new BlockDirectory({ name, source, volumeSize, blockSize, lineage, history, ids, generations });
  } catch (err) {
    return fail((err as Error).message);
  }
}
