// Go encoding/json compatibility: string escaping and time.Time text, so documents we write are
// byte-identical to restic's (tree ids only deduplicate against restic when the bytes match).

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const htmlAndSeparators = /[<>&\u2028\u2029]/g;
const escapes: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * A JSON string literal exactly as Go's encoding/json writes it: like JSON.stringify, plus Go's
 * HTML-safe escapes. Lone surrogates (invalid UTF-8 in Go) become U+FFFD, as Go replaces them.
 */
export function goJsonString(s: string): string {
  const json = JSON.stringify(s.replace(loneSurrogate, '\uFFFD'));
  return json.replace(htmlAndSeparators, (c) => escapes[c]!);
}

/** A Go time.Time as restic stores it: an instant with nanosecond precision and a zone offset. */
export interface GoTime {
  /** Nanoseconds since the Unix epoch. */
  readonly ns: bigint;
  /** The zone's offset east of UTC, in minutes. */
  readonly offsetMinutes: number;
}

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

/** The instant in the local time zone, as Go's time.Unix(...) would give it. */
export function localGoTime(ns: bigint): GoTime {
  const ms = Number(ns / NS_PER_MS);
  return { ns, offsetMinutes: -new Date(ms).getTimezoneOffset() };
}

export function goTimeFromDate(date: Date): GoTime {
  return localGoTime(BigInt(date.getTime()) * NS_PER_MS);
}

export function goTimeToDate(t: GoTime): Date {
  return new Date(Number(t.ns / NS_PER_MS));
}

/** The zero time.Time, which restic writes for unknown times. */
export const zeroGoTime: GoTime = { ns: -62135596800n * NS_PER_S, offsetMinutes: 0 };

function pad(n: number | bigint, width: number): string {
  return String(n).padStart(width, '0');
}

/** RFC 3339 with nanoseconds, trailing zeros of the fraction trimmed: Go's time.RFC3339Nano. */
export function formatGoTime(t: GoTime): string {
  const offsetNs = BigInt(t.offsetMinutes) * 60n * NS_PER_S;
  const wall = t.ns + offsetNs;
  let seconds = wall / NS_PER_S;
  let nanos = wall % NS_PER_S;
  if (nanos < 0n) {
    nanos += NS_PER_S;
    seconds -= 1n;
  }
  const d = new Date(Number(seconds) * 1000);
  const year = d.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`time out of range for RFC 3339: year ${year}`);
  let text =
    `${pad(year, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
  if (nanos !== 0n) text += '.' + pad(nanos, 9).replace(/0+$/, '');
  if (t.offsetMinutes === 0) return text + 'Z';
  const sign = t.offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(t.offsetMinutes);
  return `${text}${sign}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
}

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

export function parseGoTime(text: string): GoTime {
  const m = rfc3339.exec(text);
  if (!m) throw new SyntaxError(`invalid RFC 3339 time: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m;
  const offsetMinutes = z ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  const wallMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  // Date.UTC maps years 0..99 to 1900..1999; setUTCFullYear undoes that.
  const wall = new Date(wallMs);
  wall.setUTCFullYear(Number(y));
  const nanos = frac ? BigInt(frac.padEnd(9, '0')) : 0n;
  const ns = BigInt(wall.getTime()) * NS_PER_MS + nanos - BigInt(offsetMinutes) * 60n * NS_PER_S;
  return { ns, offsetMinutes };
}
