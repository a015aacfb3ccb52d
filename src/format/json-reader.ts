// A pull reader over JSON text for restic's documents: it keeps uint64 numbers exact (JSON.parse
// rounds above 2^53) and decodes straight into our types without building intermediate objects.

import { corrupt } from '../errors.js';

const enum Ch {
  tab = 0x09,
  lf = 0x0a,
  cr = 0x0d,
  space = 0x20,
  quote = 0x22,
  comma = 0x2c,
  minus = 0x2d,
  dot = 0x2e,
  zero = 0x30,
  nine = 0x39,
  colon = 0x3a,
  openBracket = 0x5b,
  backslash = 0x5c,
  closeBracket = 0x5d,
  e = 0x65,
  E = 0x45,
  f = 0x66,
  n = 0x6e,
  t = 0x74,
  openBrace = 0x7b,
  closeBrace = 0x7d,
  plus = 0x2b,
}

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;

const simpleEscapes: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/**
 * Reads one JSON value from `text`, front to back. Objects are read with beginObject() and then
 * nextKey() until it returns undefined; arrays with beginArray() and nextItem(). Values a caller
 * does not want are skipped with skipValue() or captured verbatim with rawValue(). Every syntax
 * error is a corrupt() error naming `what`.
 */
export class JsonReader {
  private pos = 0;
  /** True right after `{` or `[`, where no comma may come before the first member. */
  private atFirst = false;

  constructor(
    private readonly text: string,
    private readonly what: string,
  ) {}

  /** Reads UTF-8 bytes; invalid sequences become U+FFFD, as Go's decoder does. */
  static fromBytes(data: Uint8Array, what: string): JsonReader {
    return new JsonReader(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'), what);
  }

  fail(message: string): never {
    throw corrupt(`${this.what}: ${message} at offset ${this.pos}`);
  }

  private skipSpace(): number {
    const text = this.text;
    let pos = this.pos;
    let c = text.charCodeAt(pos);
    while (c === Ch.space || c === Ch.lf || c === Ch.cr || c === Ch.tab) c = text.charCodeAt(++pos);
    this.pos = pos;
    return c;
  }

  private expect(ch: number, name: string): void {
    if (this.skipSpace() !== ch) this.fail(`expected ${name}`);
    this.pos++;
  }

  beginObject(): void {
    this.expect(Ch.openBrace, "'{'");
    this.atFirst = true;
  }

  /** The next member's key (its `:` consumed), or undefined after consuming the closing `}`. */
  nextKey(): string | undefined {
    let c = this.skipSpace();
    if (c === Ch.closeBrace) {
      this.pos++;
      this.atFirst = false;
      return undefined;
    }
    if (!this.atFirst) {
      if (c !== Ch.comma) this.fail("expected ',' or '}'");
      this.pos++;
      c = this.skipSpace();
    }
    this.atFirst = false;
    if (c !== Ch.quote) this.fail('expected a key');
    const key = this.readString();
    this.expect(Ch.colon, "':'");
    return key;
  }

  beginArray(): void {
    this.expect(Ch.openBracket, "'['");
    this.atFirst = true;
  }

  /** True when another array element follows (its comma consumed); false after consuming `]`. */
  nextItem(): boolean {
    const c = this.skipSpace();
    if (c === Ch.closeBracket) {
      this.pos++;
      this.atFirst = false;
      return false;
    }
    if (!this.atFirst) {
      if (c !== Ch.comma) this.fail("expected ',' or ']'");
      this.pos++;
    }
    this.atFirst = false;
    return true;
  }

  /** Consumes a `null` and returns true, or returns false leaving a non-null value in place. */
  readNull(): boolean {
    if (this.skipSpace() !== Ch.n) return false;
    this.literal('null');
    return true;
  }

  private literal(word: string): void {
    if (!this.text.startsWith(word, this.pos)) this.fail(`expected ${word}`);
    this.pos += word.length;
  }

  readBoolean(): boolean {
    const c = this.skipSpace();
    if (c === Ch.t) {
      this.literal('true');
      return true;
    }
    this.literal('false');
    return false;
  }

  readString(): string {
    if (this.skipSpace() !== Ch.quote) this.fail('expected a string');
    const text = this.text;
    const start = ++this.pos;
    let pos = start;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === Ch.quote) {
        this.pos = pos + 1;
        return text.slice(start, pos);
      }
      if (c === Ch.backslash) break;
      if (c < 0x20 || Number.isNaN(c)) {
        this.pos = pos;
        this.fail('unterminated string or raw control character');
      }
      pos++;
    }
    this.pos = pos;
    return text.slice(start, pos) + this.readEscapedRest();
  }

  /** The rest of a string from its first backslash on: the slow path. */
  private readEscapedRest(): string {
    const text = this.text;
    let out = '';
    let pos = this.pos;
    let runStart = pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === Ch.quote) {
        this.pos = pos + 1;
        return out + text.slice(runStart, pos);
      }
      if (c < 0x20 || Number.isNaN(c)) {
        this.pos = pos;
        this.fail('unterminated string or raw control character');
      }
      if (c !== Ch.backslash) {
        pos++;
        continue;
      }
      out += text.slice(runStart, pos);
      const e = text[pos + 1];
      if (e === 'u') {
        const code = this.hex4(pos + 2);
        pos += 6;
        // A surrogate pair spelled as two escapes is one character; a lone surrogate stays a lone
        // UTF-16 unit here and becomes U+FFFD when encoded as UTF-8, as Go decodes it.
        out += String.fromCharCode(code);
      } else {
        const simple = e === undefined ? undefined : simpleEscapes[e];
        if (simple === undefined) {
          this.pos = pos;
          this.fail('invalid escape in string');
        }
        out += simple;
        pos += 2;
      }
      runStart = pos;
    }
  }

  private hex4(at: number): number {
    const digits = this.text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) {
      this.pos = at;
      this.fail('invalid \\u escape');
    }
    return parseInt(digits, 16);
  }

  /** The digits of a non-negative integer; a sign, fraction or exponent is an error. */
  private unsignedDigits(): [start: number, end: number] {
    const text = this.text;
    this.skipSpace();
    const start = this.pos;
    let pos = start;
    let c = text.charCodeAt(pos);
    while (c >= Ch.zero && c <= Ch.nine) c = text.charCodeAt(++pos);
    if (pos === start || c === Ch.dot || c === Ch.e || c === Ch.E || c === Ch.minus || c === Ch.plus) {
      this.fail('expected an unsigned integer');
    }
    this.pos = pos;
    return [start, pos];
  }

  /** An unsigned integer that must not exceed `max` (at most 2^53 - 1). */
  readUint(max: number): number {
    const [start, end] = this.unsignedDigits();
    let value = 0;
    for (let i = start; i < end; i++) value = value * 10 + (this.text.charCodeAt(i) - Ch.zero);
    if (end - start > 16 || value > max) this.fail(`integer out of range (max ${max})`);
    return value;
  }

  /** A uint64, exact over its whole range. */
  readUint64(): bigint {
    const [start, end] = this.unsignedDigits();
    if (end - start <= 15) {
      let value = 0;
      for (let i = start; i < end; i++) value = value * 10 + (this.text.charCodeAt(i) - Ch.zero);
      return BigInt(value);
    }
    const value = BigInt(this.text.slice(start, end));
    if (value > UINT64_MAX) this.fail('integer out of range for uint64');
    return value;
  }

  /** Any JSON number, as a double. */
  readNumber(): number {
    this.skipSpace();
    const start = this.pos;
    const m = /-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/y;
    m.lastIndex = start;
    if (!m.test(this.text)) this.fail('expected a number');
    this.pos = m.lastIndex;
    return Number(this.text.slice(start, this.pos));
  }

  /** Skips one value of any kind. */
  skipValue(): void {
    const c = this.skipSpace();
    if (c === Ch.quote) this.readString();
    else if (c === Ch.openBrace) {
      this.beginObject();
      while (this.nextKey() !== undefined) this.skipValue();
    } else if (c === Ch.openBracket) {
      this.beginArray();
      while (this.nextItem()) this.skipValue();
    } else if (c === Ch.t || c === Ch.f) this.readBoolean();
    else if (c === Ch.n) this.literal('null');
    else this.readNumber();
  }

  /** Skips one value and returns its exact source text. */
  rawValue(): string {
    this.skipSpace();
    const start = this.pos;
    this.skipValue();
    return this.text.slice(start, this.pos);
  }

  /** Asserts that nothing but white space follows. */
  end(): void {
    this.skipSpace();
    if (this.pos !== this.text.length) this.fail('unexpected data after the value');
  }
}
