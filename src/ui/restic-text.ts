// Text as restic 0.14 prints it where scripts may parse it: byte sizes, Go's file mode strings,
// Go's default time format, and the long listing line of ls and find.

import { goModeTypeBits } from '../format/file-mode.js';
import { localZoneAbbreviation } from '../format/go-calendar.js';
import type { GoTime } from '../format/go-json.js';
import { goTimeToDate } from '../format/go-json.js';
import type { Node } from '../format/node.js';
import { formatLocalTime } from './format.js';

/** restic's formatBytes: a unit is used only above (not at) its size. */
export function resticBytes(n: number): string {
  const units: Array<[number, string]> = [
    [2 ** 40, 'TiB'],
    [2 ** 30, 'GiB'],
    [2 ** 20, 'MiB'],
    [2 ** 10, 'KiB'],
  ];
  for (const [size, unit] of units) if (n > size) return `${goFixed(n / size, 3)} ${unit}`;
  return `${n} B`;
}

/**
 * Go's %.Nf of a non-negative number: the exact value rounded to N digits, a tie to the even
 * digit (7.5625 gives 7.562), where toFixed rounds a tie up.
 */
export function goFixed(x: number, digits: number): string {
  // toFixed is exact: with enough digits it shows whether the value lies exactly halfway.
  const exact = x.toFixed(Math.min(100, digits + 60));
  const point = exact.indexOf('.');
  const rest = exact.slice(point + 1 + digits);
  if (!/^50*$/.test(rest)) return x.toFixed(digits);
  const kept = exact.slice(0, point + 1 + digits);
  const lastDigit = Number(kept[kept.length - 1] === '.' ? kept[kept.length - 2] : kept[kept.length - 1]);
  return lastDigit % 2 === 0 ? (digits === 0 ? kept.slice(0, -1) : kept) : x.toFixed(digits);
}

/** Go's os.FileMode.String(): type letters (or `-`), then rwx for owner, group and others. */
export function goFileModeString(mode: number): string {
  const letters = 'dalTLDpSugct?';
  let s = '';
  for (let i = 0; i < letters.length; i++) if (mode & (2 ** (31 - i))) s += letters[i];
  if (s === '') s = '-';
  const rwx = 'rwxrwxrwx';
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? rwx[i] : '-';
  return s;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * Go's time.Time.String() for a time read from a repository: `2006-01-02 15:04:05.999999999 -0700 MST`
 * in the time's own zone. Go names the zone UTC for Z times and the local zone's name when the
 * offset is local; a fixed zone without a name shows the offset again.
 */
export function goTimeString(t: GoTime): string {
  const wallMs = Number(t.ns / 1_000_000n) + t.offsetMinutes * 60_000;
  const d = new Date(wallMs);
  const nanos = Number(((t.ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n);
  const fraction = nanos === 0 ? '' : '.' + String(nanos).padStart(9, '0').replace(/0+$/, '');
  const abs = Math.abs(t.offsetMinutes);
  const offset = `${t.offsetMinutes < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
  const instant = goTimeToDate(t);
  const local = -instant.getTimezoneOffset() === t.offsetMinutes;
  const zone = t.offsetMinutes === 0 ? 'UTC' : (local && localZoneAbbreviation(instant.getTime())) || offset;
  const date = `${String(d.getUTCFullYear()).padStart(4, '0')}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
  return `${date} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}${fraction} ${offset} ${zone}`;
}

/** The mode restic shows for a node: its type's bits (none for the types 0.14 does not know) added to the stored mode. */
export function displayMode(node: Node): number {
  return (node.mode | (node.type === 'irregular' ? 0 : goModeTypeBits(node.type))) >>> 0;
}

/** A node as `ls -l` and `find -l` print it in restic 0.14. */
export function longListing(path: string, node: Node): string {
  const target = node.type === 'symlink' ? ` -> ${node.linkTarget.toString('utf8')}` : '';
  const num = (n: number | bigint, width: number) => String(n).padStart(width);
  return `${goFileModeString(displayMode(node))} ${num(node.uid, 5)} ${num(node.gid, 5)} ${num(node.size, 6)} ${formatLocalTime(goTimeToDate(node.mtime))} ${path}${target}`;
}
