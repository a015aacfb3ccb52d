// Text files the way restic reads exclude and files-from lists: a UTF-8 byte order mark dropped,
// UTF-16 with a byte order mark converted, lines split as Go's bufio.ScanLines splits them.

import { readFile } from 'node:fs/promises';

/** The bytes as UTF-8 without a byte order mark, as restic's textfile.Decode gives them. */
export function decodeTextBytes(data: Buffer): Buffer {
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) return data.subarray(3);
  const bigEndian = data[0] === 0xfe && data[1] === 0xff;
  const littleEndian = data[0] === 0xff && data[1] === 0xfe;
  if (!bigEndian && !littleEndian) return data;
  // An odd trailing byte cannot form a code unit; Go's decoder turns it into U+FFFD.
  const units = data.subarray(2, data.length - (data.length % 2));
  const le = bigEndian ? Buffer.from(units).swap16() : units;
  const text = le.toString('utf16le') + (data.length % 2 === 1 ? '\ufffd' : '');
  // Unpaired surrogates become U+FFFD on the way to UTF-8, as in Go.
  return Buffer.from(text, 'utf8');
}

/** A file's text (see decodeTextBytes); `-` is standard input, as in restic. */
export async function readTextFile(path: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<Buffer> {
  return decodeTextBytes(path === '-' ? await readAll(stdin) : await readFile(path));
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** Lines as bufio.ScanLines yields them: split at \n, one trailing \r dropped, no empty last line. */
export function splitLines(data: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf(0x0a, start);
    const next = end < 0 ? data.length : end + 1;
    if (end < 0) end = data.length;
    if (end > start && data[end - 1] === 0x0d) end--;
    lines.push(data.subarray(start, end));
    start = next;
  }
  return lines;
}

const goSpace = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const goSpaceEdges = new RegExp(`^[${goSpace}]+|[${goSpace}]+$`, 'g');

/** strings.TrimSpace: Go's Unicode white space, which differs from String.prototype.trim (U+0085, U+FEFF). */
export function goTrimSpace(s: string): string {
  return s.replace(goSpaceEdges, '');
}
