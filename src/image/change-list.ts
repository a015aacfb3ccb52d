// The --changed-blocks file: byte ranges that changed since the parent snapshot, from any external
// change tracker. Text, one "OFFSET LENGTH" per line, '#' comments; see docs/images.md.

import { readFile } from 'node:fs/promises';
import { HoldfastError, invalidArgument, isSystemError } from '../errors.js';
import type { Extent } from './allocation/index.js';

const HEADER = /^#\s*holdfast changed-blocks\s+(\d+)\s*$/;

function parseNumber(text: string, where: string): number {
  const value = /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text.slice(2), 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) throw invalidArgument(`${where}: "${text}" is not a byte count (decimal or 0x hex)`);
  return value;
}

/**
 * Parses a change list for a volume of `volumeSize` bytes. An optional first line
 * "# holdfast changed-blocks 1" names the format version; later versions are refused.
 */
export function parseChangeList(text: string, volumeSize: number, what = 'change list'): Extent[] {
  const extents: Extent[] = [];
  const lines = text.split(/\r?\n/);
  for (const [n, raw] of lines.entries()) {
    const where = `${what} line ${n + 1}`;
    const header = HEADER.exec(raw);
    if (header !== null) {
      if (n !== 0) throw invalidArgument(`${where}: the format line must come first`);
      if (header[1] !== '1') throw new HoldfastError('ERR_UNSUPPORTED', `${what}: format version ${header[1]} is not supported (this holdfast reads version 1)`);
      continue;
    }
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const fields = line.split(/\s+/);
    if (fields.length !== 2) throw invalidArgument(`${where}: expected "OFFSET LENGTH", got "${line}"`);
    const offset = parseNumber(fields[0]!, where);
    const length = parseNumber(fields[1]!, where);
    if (offset + length > volumeSize) {
      throw invalidArgument(`${where}: ${length} bytes at offset ${offset} reach past the end of the ${volumeSize}-byte volume`);
    }
    if (length > 0) extents.push({ offset, length });
  }
  return extents;
}

export async function readChangeList(path: string, volumeSize: number): Promise<Extent[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) throw new HoldfastError('ERR_NOT_FOUND', `change list ${path} does not exist`);
    throw new HoldfastError('ERR_IO', `cannot read change list ${path}: ${(err as Error).message}`);
  }
  return parseChangeList(text, volumeSize, path);
}
