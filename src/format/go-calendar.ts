// Go's time package calendar, as restic relies on it: wall-clock fields and ISO weeks in a time's own
// zone, and time.Date / AddDate, which in the local zone find the offset (and cross DST) as Go does.

import { civilFromDays, daysFromCivil } from './civil-days.js';
import type { GoTime } from './go-json.js';

const NS_PER_S = 1_000_000_000n;
const SECONDS_PER_DAY = 86_400;

export interface WallClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** Nanoseconds within the second. */
  readonly nanos: number;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}


/** The date and time of day in the time's own zone offset: what Go's Year(), Hour()... return. */
export function wallClock(t: GoTime): WallClock {
  const wall = t.ns + BigInt(t.offsetMinutes * 60) * NS_PER_S;
  const seconds = Number(floorDiv(wall, NS_PER_S));
  const nanos = Number(wall - BigInt(seconds) * NS_PER_S);
  const days = Math.floor(seconds / SECONDS_PER_DAY);
  const secondOfDay = seconds - days * SECONDS_PER_DAY;
  const [year, month, day] = civilFromDays(days);
  return { year, month, day, hour: Math.floor(secondOfDay / 3600), minute: Math.floor(secondOfDay / 60) % 60, second: secondOfDay % 60, nanos };
}

/** Go's ISOWeek: the ISO 8601 year and week number of the wall-clock date. */
export function isoWeek(c: WallClock): [year: number, week: number] {
  const days = daysFromCivil(c.year, c.month, c.day);
  // 1970-01-01 was a Thursday; ISO weekdays run Monday=0 .. Sunday=6.
  const weekday = (((days + 3) % 7) + 7) % 7;
  const thursday = days - weekday + 3;
  const [year] = civilFromDays(thursday);
  const week = Math.floor((thursday - daysFromCivil(year, 1, 1)) / 7) + 1;
  return [year, week];
}

/** Locales whose short zone names are the tz database's abbreviations for most zones. */
const zoneNameLocales = ['en-US', 'en-GB', 'en-AU', 'en-IN', 'ja-JP'];

/**
 * The local zone's abbreviation at an instant (CET, EST...) as far as the platform's locale data
 * knows it, or '' when it only knows GMT+h forms (Go reads it from the tz database).
 */
export function localZoneAbbreviation(ms: number): string {
  for (const locale of zoneNameLocales) {
    const part = new Intl.DateTimeFormat(locale, { timeZoneName: 'short' }).formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName');
    const name = part?.value ?? '';
    if (name !== '' && !/^(GMT|UTC)([+-]|$)/.test(name)) return name;
  }
  return '';
}

/** The local zone's offset east of UTC, in seconds, at a Unix time. */
function localOffsetSeconds(unixSeconds: number): number {
  return Math.round(-new Date(unixSeconds * 1000).getTimezoneOffset() * 60);
}

/**
 * Go gives a parsed time the Local location when its offset is the local zone's offset at that
 * instant, and a fixed zone otherwise; UTC ("Z") times are always UTC.
 */
export function isLocalTime(t: GoTime): boolean {
  if (t.offsetMinutes === 0) return false;
  return localOffsetSeconds(Number(floorDiv(t.ns, NS_PER_S))) === t.offsetMinutes * 60;
}

/** A wall-clock date and time; fields may overflow (day 32, month 0) and roll over as in Go. */
export interface DateFields {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly nanos: number;
}

/**
 * Go's time.Date: the instant of a wall-clock time in the local zone ('local') or at a fixed
 * offset in minutes. In the local zone Go looks the offset up with the wall clock taken as UTC,
 * then once more if the instant it got falls outside that zone period, so a wall-clock time that
 * a DST change skips or repeats lands where Go puts it.
 */
export function goDate(f: DateFields, zone: 'local' | number): GoTime {
  // Normalise the month first, as Go does, then let the day overflow through the day count.
  const monthIndex = f.month - 1;
  const year = f.year + Math.floor(monthIndex / 12);
  const month = (((monthIndex % 12) + 12) % 12) + 1;
  const dayNumber = daysFromCivil(year, month, 1) + f.day - 1;
  let unix = dayNumber * SECONDS_PER_DAY + f.hour * 3600 + f.minute * 60 + f.second;
  if (zone !== 'local') {
    unix -= zone * 60;
    return { ns: BigInt(unix) * NS_PER_S + BigInt(f.nanos), offsetMinutes: zone };
  }
  let offset = localOffsetSeconds(unix);
  if (offset !== 0) {
    // A second lookup that disagrees with the first is exactly Go's "outside that zone period".
    const again = localOffsetSeconds(unix - offset);
    if (again !== offset) offset = again;
    unix -= offset;
  }
  return { ns: BigInt(unix) * NS_PER_S + BigInt(f.nanos), offsetMinutes: localOffsetSeconds(unix) / 60 };
}

/**
 * Go's t.AddDate(years, months, days): the wall-clock date moves, the clock time stays, and the
 * result is placed in the time's location: in the local zone a day back across a DST change is
 * 23 or 25 hours, in a fixed zone always 24.
 */
export function addDate(t: GoTime, years: number, months: number, days: number): GoTime {
  const c = wallClock(t);
  const moved = { ...c, year: c.year + years, month: c.month + months, day: c.day + days };
  return goDate(moved, isLocalTime(t) ? 'local' : t.offsetMinutes);
}
