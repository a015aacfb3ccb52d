// The times `find --oldest/--newest` accepts, as restic 0.14 parses them: its eleven Go layouts,
// read in the local zone unless they carry an offset or a zone name.

import { invalidArgument } from '../errors.js';
import { goDate, localZoneAbbreviation } from '../format/go-calendar.js';
import type { GoTime } from '../format/go-json.js';

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const weekdays = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** `2006-01-02`, `02.01.2006`, each optionally with ` 15:04`, ` 15:04:05` and then ` -0700` or ` MST`. */
const numeric =
  /^(?:(?<y1>\d{4})-(?<m1>\d{2})-(?<d1>\d{2})|(?<d2>\d{2})\.(?<m2>\d{2})\.(?<y2>\d{4}))(?: (?<h>\d{1,2}):(?<min>\d{2})(?::(?<s>\d{2})(?<frac>\.\d+)?(?: (?:(?<off>[+-]\d{4})|(?<tz>[A-Za-z][A-Za-z0-9+-]{2,5})))?)?)?$/;
/** `Mon Jan 2 15:04:05 -0700 MST 2006` (date's default format). */
const unixDate = /^(?<wd>[A-Z][a-z]{2}) (?<mon>[A-Z][a-z]{2}) (?<d>\d{1,2}) (?<h>\d{1,2}):(?<min>\d{2}):(?<s>\d{2})(?<frac>\.\d+)? (?<off>[+-]\d{4}) (?<tz>[A-Za-z][A-Za-z0-9+-]{2,5}) (?<y>\d{4})$/;

function offsetMinutes(off: string): number {
  const sign = off[0] === '-' ? -1 : 1;
  return sign * (Number(off.slice(1, 3)) * 60 + Number(off.slice(3, 5)));
}

/**
 * A zone name as Go's parser treats it: UTC is UTC, a name the local zone uses has the local
 * offset, GMT+h is h hours east, and any other name gets offset 0.
 */
function zoneOffset(name: string, fields: Parameters<typeof goDate>[0]): number | 'local' {
  if (name.startsWith('UTC')) return 0;
  const asUtc = goDate(fields, 0);
  const ms = Number(asUtc.ns / 1_000_000n);
  if (localZoneAbbreviation(ms) === name) return 'local';
  const gmt = /^GMT([+-]\d{1,2})$/.exec(name);
  return gmt ? Number(gmt[1]) * 60 : 0;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Parses a time given to find; an unknown form is an invalid-argument error, as in restic. */
export function parseFindTime(text: string): GoTime {
  const fail = () => invalidArgument(`unable to parse time: ${JSON.stringify(text)}`);
  const g = (numeric.exec(text) ?? unixDate.exec(text))?.groups;
  if (!g) throw fail();
  const year = Number(g.y1 ?? g.y2 ?? g.y);
  const month = g.mon !== undefined ? months.indexOf(g.mon) + 1 : Number(g.m1 ?? g.m2);
  const day = Number(g.d1 ?? g.d2 ?? g.d);
  const hour = Number(g.h ?? 0);
  const minute = Number(g.min ?? 0);
  const second = Number(g.s ?? 0);
  if (g.wd !== undefined && !weekdays.includes(g.wd)) throw fail();
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) throw fail();
  const nanos = g.frac ? Number((g.frac.slice(1) + '000000000').slice(0, 9)) : 0;
  const fields = { year, month, day, hour, minute, second, nanos };
  if (g.off !== undefined) return goDate(fields, offsetMinutes(g.off));
  if (g.tz !== undefined) return goDate(fields, zoneOffset(g.tz, fields));
  return goDate(fields, 'local');
}
