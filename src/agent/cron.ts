// Cron expressions as crontab(5) writes them (5 fields, or 6 with seconds first; ranges, steps,
// lists, month and day names, @daily and friends), and the next local time each one matches.

import { invalidArgument } from '../errors.js';
import { type CalendarDay, localDay, nextDay, resolveWallTime, weekday } from './local-time.js';

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const SECOND: FieldSpec = { name: 'second', min: 0, max: 59 };
const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { name: 'day of month', min: 1, max: 31 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] };
// 7 is Sunday too, as in every cron.
const DAY_OF_WEEK: FieldSpec = { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] };

const macros: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** How far ahead next() looks: long enough for Feb 29 on a given weekday (a 28-year cycle). */
const SEARCH_DAYS = 366 * 29;

function value(text: string, spec: FieldSpec): number {
  const byName = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  if (byName >= 0) return byName + (spec === MONTH ? 1 : 0);
  if (!/^\d+$/.test(text)) throw invalidArgument(`${spec.name} "${text}" is not a number${spec.names ? ' or a name' : ''}`);
  const n = Number(text);
  if (n < spec.min || n > spec.max) throw invalidArgument(`${spec.name} ${n} out of range (${spec.min}-${spec.max})`);
  return n;
}

/** The values one field allows. */
function parseField(text: string, spec: FieldSpec): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined || range === undefined || range === '') throw invalidArgument(`${spec.name} "${item}" is not a value, range or step`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) throw invalidArgument(`${spec.name} step "${stepText}" must be a whole number above 0`);
      step = Number(stepText);
    }
    let low: number;
    let high: number;
    if (range === '*') {
      low = spec.min;
      high = spec.max;
    } else {
      const bounds = range.split('-');
      if (bounds.length > 2) throw invalidArgument(`${spec.name} "${item}" is not a value, range or step`);
      low = value(bounds[0]!, spec);
      // `5/15` means from 5 to the end in steps of 15, as in Vixie cron.
      high = bounds.length === 2 ? value(bounds[1]!, spec) : stepText !== undefined ? spec.max : low;
      if (low > high) throw invalidArgument(`${spec.name} range "${range}" goes backwards`);
    }
    for (let v = low; v <= high; v += step) values.add(spec === DAY_OF_WEEK && v === 7 ? 0 : v);
  }
  return values;
}

const sorted = (s: Set<number>): number[] => [...s].sort((a, b) => a - b);

export class CronSchedule {
  private readonly seconds: number[];
  private readonly minutes: number[];
  private readonly hours: number[];
  private readonly days: Set<number>;
  private readonly months: Set<number>;
  private readonly weekdays: Set<number>;
  /** Vixie cron: a day field that starts with `*` does not widen the other one (AND instead of OR). */
  private readonly dayStar: boolean;
  private readonly weekdayStar: boolean;
  /**
   * A fixed hour (`30 2 * * *`) runs once a day whatever the clock does: once in a fall-back
   * overlap, and shifted forward in a spring-forward gap. A `*` hour runs by the clock: in both
   * halves of an overlap, and not in a gap (the times in it never happen).
   */
  private readonly hourStar: boolean;

  private constructor(readonly text: string, fields: string[]) {
    const [s, mi, h, dom, mon, dow] = fields.length === 6 ? fields : ['0', ...fields];
    this.seconds = sorted(parseField(s!, SECOND));
    this.minutes = sorted(parseField(mi!, MINUTE));
    this.hours = sorted(parseField(h!, HOUR));
    this.days = parseField(dom!, DAY_OF_MONTH);
    this.months = parseField(mon!, MONTH);
    this.weekdays = parseField(dow!, DAY_OF_WEEK);
    this.dayStar = dom!.startsWith('*');
    this.weekdayStar = dow!.startsWith('*');
    this.hourStar = h!.startsWith('*');
  }

  /** Parses an expression; errors name the field and value, for messages like `minute 61 out of range`. */
  static parse(text: string): CronSchedule {
    const trimmed = text.trim();
    if (trimmed.startsWith('@')) {
      const expanded = macros[trimmed.toLowerCase()];
      if (expanded === undefined) {
        throw invalidArgument(`unknown macro "${trimmed}" (known: ${Object.keys(macros).join(', ')}; for intervals write every: 10m instead of schedule)`);
      }
      return new CronSchedule(trimmed, expanded.split(' '));
    }
    const fields = trimmed.split(/\s+/);
    if (fields.length !== 5 && fields.length !== 6) {
      throw invalidArgument(`expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got ${fields.length}`);
    }
    const schedule = new CronSchedule(trimmed, fields);
    if (!schedule.canMatch()) throw invalidArgument('this day of month never occurs in the months given');
    return schedule;
  }

  /** False for dates that do not exist (`30 2`, `31 4`): with a `*` weekday nothing would ever run. */
  private canMatch(): boolean {
    if (!this.weekdayStar && !this.dayStar) return true;
    const longest = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    return [...this.months].some((m) => [...this.days].some((d) => d <= longest[m]!));
  }

  private matchesDay(c: CalendarDay): boolean {
    if (!this.months.has(c.month + 1)) return false;
    const dom = this.days.has(c.day);
    const dow = this.weekdays.has(weekday(c));
    return this.dayStar || this.weekdayStar ? dom && dow : dom || dow;
  }

  /** The first instant after `after` (ms) that the schedule names, in the local zone; undefined if none. */
  next(after: number): number | undefined {
    let day = localDay(after);
    for (let i = 0; i < SEARCH_DAYS; i++, day = nextDay(day)) {
      if (!this.matchesDay(day)) continue;
      const found = this.firstOnDay(day, after);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** The latest instant a wall time stands for, to skip whole hours and minutes that are already past. */
  private latest(day: CalendarDay, hour: number, minute: number, second: number): number {
    const r = resolveWallTime({ ...day, hour, minute, second });
    return r.instants.at(-1) ?? r.shifted!;
  }

  private firstOnDay(day: CalendarDay, after: number): number | undefined {
    // Times shifted out of a gap can be later than ordinary times after the gap: keep the
    // earliest shifted one until an ordinary one is found, which is the earliest of its kind.
    let shifted: number | undefined;
    const lastMinute = this.minutes.at(-1)!;
    const lastSecond = this.seconds.at(-1)!;
    for (const hour of this.hours) {
      if (this.latest(day, hour, lastMinute, lastSecond) <= after) continue;
      for (const minute of this.minutes) {
        if (this.latest(day, hour, minute, lastSecond) <= after) continue;
        for (const second of this.seconds) {
          const r = resolveWallTime({ ...day, hour, minute, second });
          if (r.shifted !== undefined) {
            if (!this.hourStar && r.shifted > after && (shifted === undefined || r.shifted < shifted)) shifted = r.shifted;
            continue;
          }
          const candidates = this.hourStar ? r.instants : r.instants.slice(0, 1);
          const ordinary = candidates.find((ms) => ms > after);
          if (ordinary !== undefined) return shifted === undefined ? ordinary : Math.min(shifted, ordinary);
        }
      }
    }
    return shifted;
  }
}
