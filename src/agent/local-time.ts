// Wall-clock times of the local zone (TZ) and the instants they name: none in a spring-forward
// gap, two in a fall-back overlap. Cron schedules are written in wall-clock time, so they need both.

export interface WallTime {
  readonly year: number;
  /** 0-11, as Date counts months. */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const DAY_MS = 86_400_000;

/** Minutes to add to local time to get UTC at that instant (Date's sign convention). */
function offsetAt(ms: number): number {
  return new Date(ms).getTimezoneOffset();
}

function showsWallTime(ms: number, w: WallTime): boolean {
  const d = new Date(ms);
  return (
    d.getFullYear() === w.year &&
    d.getMonth() === w.month &&
    d.getDate() === w.day &&
    d.getHours() === w.hour &&
    d.getMinutes() === w.minute &&
    d.getSeconds() === w.second
  );
}

export interface Resolved {
  /** Instants showing this wall time, earliest first: one normally, two in an overlap, none in a gap. */
  readonly instants: number[];
  /**
   * For a time in a gap: the instant as far after the gap's start as the wall time is, i.e. the
   * time read with the offset from before the change (02:30 in a 02:00-03:00 gap gives 03:30).
   */
  readonly shifted: number | undefined;
}

export function resolveWallTime(w: WallTime): Resolved {
  const asUtc = Date.UTC(w.year, w.month, w.day, w.hour, w.minute, w.second);
  // Zone changes are far more than a day apart, so the offsets a day either side are the only candidates.
  const before = offsetAt(asUtc - DAY_MS);
  const offsets = new Set([before, offsetAt(asUtc), offsetAt(asUtc + DAY_MS)]);
  const instants = [...offsets]
    .map((offset) => asUtc + offset * 60_000)
    .filter((ms) => showsWallTime(ms, w))
    .sort((a, b) => a - b);
  const unique = instants.filter((ms, i) => i === 0 || ms !== instants[i - 1]);
  return { instants: unique, shifted: unique.length === 0 ? asUtc + before * 60_000 : undefined };
}

export interface CalendarDay {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** The local calendar day of an instant. */
export function localDay(ms: number): CalendarDay {
  const d = new Date(ms);
  return { year: d.getFullYear(), month: d.getMonth(), day: d.getDate() };
}

/** The day after, by the calendar alone (no zone involved). */
export function nextDay(c: CalendarDay): CalendarDay {
  const d = new Date(Date.UTC(c.year, c.month, c.day + 1));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate() };
}

/** 0 = Sunday, as cron counts. */
export function weekday(c: CalendarDay): number {
  return new Date(Date.UTC(c.year, c.month, c.day)).getUTCDay();
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** RFC 3339 in the local zone with its offset (2024-03-31T03:30:00+02:00), for logs and status. */
export function localIso(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${date}T${time}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
