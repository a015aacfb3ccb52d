// File names as text for pattern matching: restic matches Go strings, which are bytes, so a name
// that is not valid UTF-8 reads as Go reads it, one U+FFFD per invalid byte.

import { isUtf8 } from 'node:buffer';
import { decodeRune, INVALID_RUNE } from '../format/go-utf8.js';

/** The name as the string Go's range loop sees (valid UTF-8 decodes normally). */
export function nameText(name: Buffer): string {
  const text = name.toString('utf8');
  // Decoding replaced something only if U+FFFD shows up, which a valid name rarely holds.
  if (!text.includes('\ufffd') || isUtf8(name)) return text;
  let out = '';
  let i = 0;
  while (i < name.length) {
    const packed = decodeRune(name, i);
    if (packed === INVALID_RUNE) {
      out += '\ufffd';
      i++;
    } else {
      out += String.fromCodePoint(Math.floor(packed / 8));
      i += packed & 7;
    }
  }
  return out;
}
