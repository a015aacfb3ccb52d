// Go encoding/json compatibility: string escaping and time.Time text, so documents we write are
// byte-identical to restic's (tree ids only deduplicate against restic when the bytes match).

import { isUtf8 } from 'node:buffer';
import { civilFromDays, daysFromCivil } from './civil-days.js';
import { decodeRune, INVALID_RUNE } from './go-utf8.js';

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Strings made only of these need no escaping at all (the common case for names and users). */
const plain = /^[^\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff]*$/;
/** An escaped backslash is matched as a unit so that `\\b` (backslash, b) is never taken for `\b`. */
const goDifferences = /\\[\\bf]|[<>&\u2028\u2029]/g;
const escapes: Record<string, string> = {
  '\\\\': '\\\\',
  '\\b': '\\u0008',
  '\\f': '\\u000c',
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * A JSON string literal exactly as Go 1.19's encoding/json writes it (restic 0.14 is built with
 * it): like JSON.stringify, plus Go's HTML-safe escapes, and `\u0008` / `\u000c` where
 * JSON.stringify writes `\b` / `\f` (Go only has those short forms since 1.22). Lone surrogates
 * (invalid UTF-8 in Go) become U+FFFD, as Go replaces them.
 */
export function goJsonString(s: string): string {
  if (plain.test(s)) return '"' + s + '"';
  const json = JSON.stringify(s.replace(loneSurrogate, '\uFFFD'));
  return json.replace(goDifferences, (c) => escapes[c]!);
}

/**
 * The JSON string literal Go writes for a Go string holding arbitrary bytes: valid UTF-8 as in
 * goJsonString, and each byte that is not valid UTF-8 as the escape `\ufffd`.
 */
export function goJsonBytes(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buf)) return goJsonString(buf.toString('utf8'));
  let out = '"';
  let runStart = 0;
  let i = 0;
  while (i < buf.length) {
    const packed = decodeRune(buf, i);
    if (packed !== INVALID_RUNE) {
      i += packed & 7;
      continue;
    }
    out += goJsonString(buf.toString('utf8', runStart, i)).slice(1, -1) + '\\ufffd';
    i++;
    runStart = i;
  }
  return out + goJsonString(buf.toString('utf8', runStart)).slice(1, -1) + '"';
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
const SECONDS_PER_DAY = 86_400;

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


/** Nanoseconds as whole seconds (rounded down) and the nanoseconds after them. */
export function splitNanoseconds(ns: bigint): [seconds: number, nanos: number] {
  let seconds = ns / NS_PER_S;
  let nanos = ns % NS_PER_S;
  if (nanos < 0n) {
    nanos += NS_PER_S;
    seconds -= 1n;
  }
  return [Number(seconds), Number(nanos)];
}

/** Wall-clock seconds (local to the time's offset) and the nanosecond remainder. */
function wallClock(t: GoTime): [seconds: number, nanos: number] {
  return splitNanoseconds(t.ns + BigInt(t.offsetMinutes * 60) * NS_PER_S);
}

function fromWallClock(seconds: number, nanos: number, offsetMinutes: number): GoTime {
  return { ns: BigInt(seconds - offsetMinutes * 60) * NS_PER_S + BigInt(nanos), offsetMinutes };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * Recent wall-clock seconds and their date and time of day as text. A backup writes three times
 * per file and the files of a tree mostly share a few seconds: formatting each anew made a
 * dozen strings per time, tens of megabytes over the Linux tree.
 */
const recentDateTimes = new Map<number, string>();
const RECENT_DATE_TIMES = 256;

function dateTimeText(seconds: number): string {
  let text = recentDateTimes.get(seconds);
  if (text !== undefined) return text;
  const days = Math.floor(seconds / SECONDS_PER_DAY);
  const secondOfDay = seconds - days * SECONDS_PER_DAY;
  const [year, month, day] = civilFromDays(days);
  if (year < 0 || year > 9999) throw new RangeError(`time out of range for RFC 3339: year ${year}`);
  const hour = Math.floor(secondOfDay / 3600);
  const minute = Math.floor(secondOfDay / 60) % 60;
  text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}` + `T${pad(hour, 2)}:${pad(minute, 2)}:${pad(secondOfDay % 60, 2)}`;
  if (recentDateTimes.size >= RECENT_DATE_TIMES) recentDateTimes.clear();
  recentDateTimes.set(seconds, text);
  return text;
}

/** RFC 3339 with nanoseconds, trailing zeros of the fraction trimmed: Go's time.RFC3339Nano. */
export function formatGoTime(t: GoTime): string {
  const [seconds, nanos] = wallClock(t);
  let text = dateTimeText(seconds);
  if (nanos !== 0) text += '.' + pad(nanos, 9).replace(/0+$/, '');
  if (t.offsetMinutes === 0) return text + 'Z';
  const sign = t.offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(t.offsetMinutes);
  return `${text}${sign}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
}

/** Wall-clock seconds of 0000-01-01T00:00:00 and of 9999-12-31T23:59:59, the years RFC 3339 can write. */
const FIRST_WRITABLE_SECOND = -62167219200;
const LAST_WRITABLE_SECOND = 253402300799;

/**
 * restic's FixTime: a year before 0 or after 9999 (which Go cannot write as RFC 3339) is set to
 * 0 or 9999, keeping month, day and time of day in the time's own zone (Feb 29 of a year that
 * becomes a common year rolls over to Mar 1, as Go's AddDate does).
 */
export function clampGoTimeYear(t: GoTime): GoTime {
  const [seconds, nanos] = wallClock(t);
  if (seconds >= FIRST_WRITABLE_SECOND && seconds <= LAST_WRITABLE_SECOND) return t;
  const days = Math.floor(seconds / SECONDS_PER_DAY);
  const [year, month, day] = civilFromDays(days);
  if (year >= 0 && year <= 9999) return t;
  const clampedDays = daysFromCivil(year < 0 ? 0 : 9999, month, day);
  return fromWallClock(clampedDays * SECONDS_PER_DAY + (seconds - days * SECONDS_PER_DAY), nanos, t.offsetMinutes);
}

const daysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The last text parsed and its result: a node's three times, and neighbouring nodes', often agree. */
let lastParsed: { text: string; time: GoTime } = { text: '', time: zeroGoTime };

/** The value of the decimal digits text[start..end), or -1 if any is not a digit. */
function digits(text: string, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

function invalidTime(text: string): never {
  throw new SyntaxError(`invalid RFC 3339 time: ${JSON.stringify(text)}`);
}

/**
 * Parses RFC 3339 as Go's time.Time.UnmarshalJSON does: fields are range-checked, and digits of
 * the fraction beyond nanoseconds are dropped.
 */
export function parseGoTime(text: string): GoTime {
  if (text === lastParsed.text) return lastParsed.time;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  const t = text.charCodeAt(10) | 0x20;
  if (text.length < 20 || text[4] !== '-' || text[7] !== '-' || t !== 0x74 || text[13] !== ':' || text[16] !== ':') invalidTime(text);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) invalidTime(text);
  const isLeap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const monthDays = month === 2 && !isLeap ? 28 : daysInMonth[month - 1];
  if (monthDays === undefined || day < 1 || day > monthDays || hour > 23 || minute > 59 || second > 59) invalidTime(text);

  let pos = 19;
  let nanos = 0;
  if (text[pos] === '.') {
    let end = pos + 1;
    while (end < text.length && text.charCodeAt(end) >= 0x30 && text.charCodeAt(end) <= 0x39) end++;
    if (end === pos + 1) invalidTime(text);
    const kept = Math.min(end, pos + 10);
    nanos = digits(text, pos + 1, kept) * 10 ** (9 - (kept - pos - 1));
    pos = end;
  }
  let offsetMinutes = 0;
  const zone = text[pos];
  if (zone === 'Z' || zone === 'z') {
    if (pos + 1 !== text.length) invalidTime(text);
  } else if ((zone === '+' || zone === '-') && pos + 6 === text.length && text[pos + 3] === ':') {
    const oh = digits(text, pos + 1, pos + 3);
    const om = digits(text, pos + 4, pos + 6);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) invalidTime(text);
    offsetMinutes = (zone === '-' ? -1 : 1) * (oh * 60 + om) || 0;
  } else {
    invalidTime(text);
  }
  const seconds = daysFromCivil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
  const time = fromWallClock(seconds, nanos, offsetMinutes);
  lastParsed = { text, time };
  return time;
}
