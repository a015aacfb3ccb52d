// Durations as the agent configuration writes them: `90s`, `10m`, `1h30m`, `2d`, or `0`.
// Used for intervals, random delays and timeouts; the result is in milliseconds.

import { invalidArgument } from '../errors.js';

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let end = 0;
  for (let m = part.exec(trimmed); m !== null; m = part.exec(trimmed)) {
    total += Number(m[1]) * unitMs[m[2]!]!;
    end = part.lastIndex;
  }
  if (end === 0 || end !== trimmed.length) throw invalidArgument(`invalid duration "${text}" (examples: 30s, 10m, 1h30m, 2d)`);
  return Math.round(total);
}

