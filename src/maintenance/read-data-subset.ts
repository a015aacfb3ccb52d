// Which packs `check --read-data-subset` reads: n/t (the n-th of t groups by pack id, as restic
// does, so t runs cover everything), a percentage, or a total size — the last two chosen at random.

import { HoldfastError } from '../errors.js';

export type ReadDataSubset =
  | { readonly kind: 'group'; readonly n: number; readonly of: number }
  | { readonly kind: 'percent'; readonly percent: number }
  | { readonly kind: 'size'; readonly bytes: number };

const units: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

export function parseReadDataSubset(text: string): ReadDataSubset {
  const group = /^(\d+)\/(\d+)$/.exec(text);
  if (group) {
    const n = Number(group[1]);
    const of = Number(group[2]);
    if (n < 1 || of < 1 || n > of) throw new HoldfastError('ERR_INVALID_ARGUMENT', `read-data-subset "${text}": n/t needs 1 <= n <= t`);
    return { kind: 'group', n, of };
  }
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (percent) {
    const p = Number(percent[1]);
    if (!(p > 0 && p <= 100)) throw new HoldfastError('ERR_INVALID_ARGUMENT', `read-data-subset "${text}": the percentage must be in (0, 100]`);
    return { kind: 'percent', percent: p };
  }
  const size = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text);
  if (size) return { kind: 'size', bytes: Math.floor(Number(size[1]) * units[size[2]!.toLowerCase()]!) };
  throw new HoldfastError('ERR_INVALID_ARGUMENT', `read-data-subset "${text}": expected n/t, a percentage like 10% or a size like 500M`);
}

function shuffled<T>(items: readonly T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export function selectPacks(packIds: readonly string[], sizes: ReadonlyMap<string, number>, subset?: ReadDataSubset): string[] {
  if (!subset) return [...packIds];
  switch (subset.kind) {
    case 'group':
      // restic groups packs by the first byte of their id, so the t groups partition the packs.
      return packIds.filter((id) => (parseInt(id.slice(0, 2), 16) % subset.of) === subset.n - 1);
    case 'percent':
      return shuffled(packIds).slice(0, Math.ceil((packIds.length * subset.percent) / 100));
    case 'size': {
      const out: string[] = [];
      let total = 0;
      for (const id of shuffled(packIds)) {
        if (total >= subset.bytes) break;
        out.push(id);
        total += sizes.get(id) ?? 0;
      }
      return out;
    }
  }
}
