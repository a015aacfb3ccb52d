// HTTP Range for object reads, with the semantics of Go's http.ServeContent that restic was built
// against: one range gives 206, a range past the end gives 416, and an empty file ignores Range.

export type RangeResult =
  | { readonly kind: 'whole' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

const whole: RangeResult = { kind: 'whole' };

/** `end` is inclusive, as in the header. Malformed or multi-range headers are ignored (RFC 9110 allows it). */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined || size === 0) return whole;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return whole;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? Infinity : Number(m[2]);
  if (!Number.isSafeInteger(start) || end < start) return whole;
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}
