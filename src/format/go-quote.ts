// Go's strconv.Quote and strconv.Unquote for node names, which are byte strings: restic stores a
// name as Quote(name) without the outer quotes, so `"`, `\`, controls and invalid UTF-8 survive JSON.

import { decodeRune, INVALID_RUNE } from './go-utf8.js';
import { isGoPrint } from './unicode-print.js';

const hex = '0123456789abcdef';

const shortEscapes: Record<number, string> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
  0x5c: '\\\\',
  0x22: '\\"',
};

/** True for the bytes Quote copies unchanged without looking further: printable ASCII but `"` and `\`. */
function isPlainAscii(b: number): boolean {
  return b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c;
}

/**
 * strconv.Quote(name) of Go 1.19 without the surrounding quotes. Invalid UTF-8 bytes become
 * `\xNN`, controls use Go's short forms or `\xNN`, other runes Go does not consider printable
 * become `\uNNNN` / `\UNNNNNNNN` (lowercase hex); printable runes stay as they are.
 */
export function goQuote(name: Uint8Array): string {
  let i = 0;
  while (i < name.length && isPlainAscii(name[i]!)) i++;
  if (i === name.length) return Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1');

  let out = Buffer.from(name.buffer, name.byteOffset, i).toString('latin1');
  while (i < name.length) {
    const b = name[i]!;
    if (b < 0x80) {
      i++;
      if (isPlainAscii(b)) out += String.fromCharCode(b);
      else out += shortEscapes[b] ?? '\\x' + hex[b >> 4] + hex[b & 15];
      continue;
    }
    const packed = decodeRune(name, i);
    if (packed === INVALID_RUNE) {
      out += '\\x' + hex[b >> 4] + hex[b & 15];
      i++;
      continue;
    }
    const r = packed >>> 3;
    i += packed & 7;
    if (isGoPrint(r)) out += String.fromCodePoint(r);
    else if (r < 0x10000) out += '\\u' + r.toString(16).padStart(4, '0');
    else out += '\\U' + r.toString(16).padStart(8, '0');
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

const simpleUnescapes: Record<string, number> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  '\\': 0x5c,
  '"': 0x22,
};

function syntaxError(quoted: string): SyntaxError {
  return new SyntaxError(`invalid Go-quoted name ${JSON.stringify(quoted)}`);
}

/**
 * The bytes of strconv.Unquote('"' + quoted + '"'), the way restic reads a node name: every Go
 * escape is accepted (`\a \b \f \n \r \t \v \\ \"`, `\xNN` and octal `\NNN` as single bytes,
 * `\uNNNN` and `\UNNNNNNNN` as UTF-8), other characters are taken as UTF-8. A raw `"` or newline,
 * or a malformed escape, is a SyntaxError.
 */
export function goUnquote(quoted: string): Buffer {
  if (quoted.indexOf('\\') < 0) {
    if (quoted.indexOf('"') >= 0 || quoted.indexOf('\n') >= 0) throw syntaxError(quoted);
    return Buffer.from(quoted, 'utf8');
  }

  // Every UTF-16 unit takes at most 3 bytes of UTF-8 and every escape shrinks, so this is enough.
  const out = Buffer.allocUnsafe(quoted.length * 3);
  let o = 0;
  const n = quoted.length;
  let literalStart = 0;
  let i = 0;
  while (i < n) {
    const c = quoted.charCodeAt(i);
    if (c === 0x22 || c === 0x0a) throw syntaxError(quoted);
    if (c !== 0x5c) {
      i++;
      continue;
    }
    if (i > literalStart) o += out.write(quoted.slice(literalStart, i), o, 'utf8');
    if (i + 1 >= n) throw syntaxError(quoted);
    const e = quoted[i + 1]!;
    i += 2;
    const simple = simpleUnescapes[e];
    if (simple !== undefined) {
      out[o++] = simple;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const digits = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      if (i + digits > n) throw syntaxError(quoted);
      let v = 0;
      for (let j = 0; j < digits; j++) {
        const d = hexValue(quoted.charCodeAt(i + j));
        if (d < 0) throw syntaxError(quoted);
        v = v * 16 + d;
      }
      i += digits;
      if (e === 'x') {
        out[o++] = v;
      } else {
        if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw syntaxError(quoted);
        o += out.write(String.fromCodePoint(v), o, 'utf8');
      }
    } else if (e >= '0' && e <= '7') {
      if (i + 2 > n) throw syntaxError(quoted);
      let v = e.charCodeAt(0) - 0x30;
      for (let j = 0; j < 2; j++) {
        const d = quoted.charCodeAt(i + j) - 0x30;
        if (d < 0 || d > 7) throw syntaxError(quoted);
        v = v * 8 + d;
      }
      i += 2;
      if (v > 255) throw syntaxError(quoted);
      out[o++] = v;
    } else {
      throw syntaxError(quoted);
    }
    literalStart = i;
  }
  if (n > literalStart) o += out.write(quoted.slice(literalStart), o, 'utf8');
  return out.subarray(0, o);
}
