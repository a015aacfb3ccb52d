// Parsing of the human units the server's options take: durations (`10s`, `5m`, `24h`, `7d`) and
// byte sizes (`500M`, `2GiB`, `1.5T`). Sizes use powers of 1024, as restic's --limit options do.

import { invalidArgument } from '../errors.js';

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration such as `10s`, `5m`, `24h`, `7d` or `1h30m`; a bare number is seconds. */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s.length === 0) throw invalidArgument('empty duration');
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    part.lastIndex = pos;
    const m = part.exec(s);
    if (!m) throw invalidArgument(`invalid duration "${text}": use e.g. 10s, 5m, 24h or 7d`);
    total += Number(m[1]) * durationUnits[m[2]!]!;
    pos = part.lastIndex;
  }
  return Math.round(total);
}

const sizeUnits: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Bytes of a size such as `4096`, `500M`, `2GiB`, `1.5T` (case-insensitive, powers of 1024). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw invalidArgument(`invalid size "${text}": use e.g. 500M, 20G or 1T`);
  const bytes = Math.floor(Number(m[1]) * sizeUnits[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw invalidArgument(`size "${text}" is too large`);
  return bytes;
}

/** A byte count for people: `1.5 GiB`. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
