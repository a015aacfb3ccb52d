// UTF-8 decoding with Go's exact rules (unicode/utf8.DecodeRune), for byte strings that may be
// invalid: restic's quoting and JSON encoding treat every byte Go finds invalid on its own.

/** Returned by decodeRune for an invalid byte; Go then yields (RuneError, 1). */
export const INVALID_RUNE = -1;

/**
 * The rune starting at `i` (which must be < bytes.length), packed as `rune * 8 + size` so that
 * hot loops need no allocation, or INVALID_RUNE when the byte at `i` does not start a valid
 * sequence. Like Go, this rejects overlong forms, surrogates and runes above U+10FFFF.
 */
export function decodeRune(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return b0 * 8 + 1;
  const n = bytes.length;
  if (b0 < 0xc2) return INVALID_RUNE;
  if (b0 < 0xe0) {
    if (i + 1 >= n) return INVALID_RUNE;
    const b1 = bytes[i + 1]!;
    if ((b1 & 0xc0) !== 0x80) return INVALID_RUNE;
    return (((b0 & 0x1f) << 6) | (b1 & 0x3f)) * 8 + 2;
  }
  if (b0 < 0xf0) {
    if (i + 2 >= n) return INVALID_RUNE;
    const b1 = bytes[i + 1]!;
    const b2 = bytes[i + 2]!;
    // The second byte's range excludes overlong forms (E0) and surrogates (ED).
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    if (b1 < lo || b1 > hi || (b2 & 0xc0) !== 0x80) return INVALID_RUNE;
    return (((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f)) * 8 + 3;
  }
  if (b0 < 0xf5) {
    if (i + 3 >= n) return INVALID_RUNE;
    const b1 = bytes[i + 1]!;
    const b2 = bytes[i + 2]!;
    const b3 = bytes[i + 3]!;
    // Likewise for four bytes: no overlong forms (F0) and nothing above U+10FFFF (F4).
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    if (b1 < lo || b1 > hi || (b2 & 0xc0) !== 0x80 || (b3 & 0xc0) !== 0x80) return INVALID_RUNE;
    return (((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f)) * 8 + 4;
  }
  return INVALID_RUNE;
}
