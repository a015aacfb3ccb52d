// Go's strings.ToLower, which restic applies to --iexclude patterns and to the paths they are
// matched against: per-rune simple case mapping, unlike JavaScript's context-dependent one.

const nonAscii = /[^\u0000-\u007f]/;

/**
 * The string lowered rune by rune, as Go's strings.ToLower: no final-sigma rule, and U+0130
 * becomes a plain `i` (JavaScript's toLowerCase gives `i` plus a combining dot for both).
 */
export function goToLower(s: string): string {
  if (!nonAscii.test(s)) return s.toLowerCase();
  let out = '';
  // One rune at a time, so no rule looks at the neighbours.
  for (const ch of s) out += ch === '\u0130' ? 'i' : ch.toLowerCase();
  return out;
}
