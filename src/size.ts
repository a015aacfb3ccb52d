// Sizes as restic's --exclude-larger-than takes them: a decimal integer with an optional b, k, m,
// g or t suffix (either case, powers of 1024).

import { invalidArgument } from './errors.js';

const units: Record<string, bigint> = { b: 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n, t: 1n << 40n };
const INT64_MAX = (1n << 63n) - 1n;

/** Bytes for "100", "2k", "3M", "4G", "5T" (restic's parseSizeStr; a sign is allowed as in Go). */
export function parseSize(text: string): bigint {
  const unit = units[text.slice(-1).toLowerCase()];
  const digits = unit === undefined ? text : text.slice(0, -1);
  if (!/^[+-]?\d+$/.test(digits)) throw invalidArgument(`invalid size ${JSON.stringify(text)}: expected a number with an optional k, M, G or T suffix`);
  const value = BigInt(digits);
  if (value > INT64_MAX || value < -INT64_MAX - 1n) throw invalidArgument(`invalid size ${JSON.stringify(text)}: out of range`);
  return value * (unit ?? 1n);
}
