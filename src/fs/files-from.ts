// restic's --files-from, --files-from-verbatim and --files-from-raw: lists of paths to back up,
// read into raw byte paths exactly as restic 0.14 reads each kind.

import { isUtf8 } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { invalidArgument } from '../errors.js';
import { globFiles } from './glob-files.js';
import { readAll, readTextFile, splitLines, goTrimSpace } from './text-file.js';
import { ignoreWarnings, type WarningSink } from './warning.js';

/** `glob`: --files-from; `verbatim`: --files-from-verbatim; `raw`: --files-from-raw. */
export type FilesFromKind = 'glob' | 'verbatim' | 'raw';

/** Go's TrimSpace on a line that may not be UTF-8: only ASCII blanks can be seen around bytes Go cannot decode. */
function trimLine(line: Buffer): Buffer {
  if (isUtf8(line)) return Buffer.from(goTrimSpace(line.toString('utf8')), 'utf8');
  let start = 0;
  let end = line.length;
  const blank = (b: number): boolean => b === 0x20 || (b >= 0x09 && b <= 0x0d);
  while (start < end && blank(line[start]!)) start++;
  while (end > start && blank(line[end - 1]!)) end--;
  return line.subarray(start, end);
}

/** NUL-terminated names; restic requires the final NUL and refuses empty names. */
export function parseRawNames(data: Buffer): Buffer[] {
  const names: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    const end = data.indexOf(0, start);
    if (end < 0) throw invalidArgument('--files-from-raw: trailing zero byte missing');
    if (end === start) throw invalidArgument('--files-from-raw: empty filename in listing');
    names.push(data.subarray(start, end));
    start = end + 1;
  }
  return names;
}

/**
 * The paths a list file names (`-` is standard input):
 * - glob: one per line, trimmed; empty lines and lines starting with `#` skipped; each line is a
 *   filepath.Glob pattern (a pattern that matches nothing is a warning);
 * - verbatim: one per line, exactly (only empty lines skipped);
 * - raw: NUL-separated, no text decoding at all.
 * Whether the paths exist is checked later, for all sources together, as restic does.
 */
export async function readFilesFrom(
  kind: FilesFromKind,
  file: string,
  options: { warn?: WarningSink; stdin?: NodeJS.ReadableStream } = {},
): Promise<Buffer[]> {
  if (kind === 'raw') return parseRawNames(file === '-' ? await readAll(options.stdin ?? process.stdin) : await readFile(file));
  const lines = splitLines(await readTextFile(file, options.stdin));
  if (kind === 'verbatim') return lines.filter((line) => line.length > 0);
  const warn = options.warn ?? ignoreWarnings;
  const paths: Buffer[] = [];
  for (const raw of lines) {
    const line = trimLine(raw);
    if (line.length === 0 || line[0] === 0x23) continue;
    const matches = await globFiles(line);
    if (matches.length === 0) warn({ path: line, message: 'pattern does not match any files, skipping' });
    paths.push(...matches);
  }
  return paths;
}
