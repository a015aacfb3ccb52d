// The retention policy of `forget`: which snapshots of one group to keep, decided exactly as restic
// 0.14's ApplyPolicy decides (buckets by wall-clock hour, day, ISO week, month, year in each
// snapshot's own zone; within-durations relative to the newest snapshot that is not in the future).

import { invalidArgument } from '../errors.js';
import { type GoTime, zeroGoTime } from '../format/go-json.js';
import { hasTags, type SnapshotEntry } from '../repository/snapshots.js';
import { addDate, isoWeek, wallClock } from '../format/go-calendar.js';

/** restic's Duration: calendar units, applied with AddDate (years, months, days) and then hours. */
export interface RetentionDuration {
  readonly years: number;
  readonly months: number;
  readonly days: number;
  readonly hours: number;
}

export const noDuration: RetentionDuration = { years: 0, months: 0, days: 0, hours: 0 };

/** Parses `1y2m3d4h` (any subset, any order; a repeated unit overrides the earlier one). */
export function parseRetentionDuration(text: string): RetentionDuration {
  const d = { years: 0, months: 0, days: 0, hours: 0 };
  const units: Record<string, keyof typeof d> = { y: 'years', m: 'months', d: 'days', h: 'hours' };
  let rest = text.trim();
  while (rest !== '') {
    const m = /^(-?)([0-9]*)/.exec(rest)!;
    if (m[2] === '') throw invalidArgument(`invalid duration "${text}": no number found`);
    const num = Number(m[1] + m[2]);
    rest = rest.slice(m[0].length);
    if (rest === '') throw invalidArgument(`invalid duration "${text}": no unit found after number ${num}`);
    const unit = units[rest[0]!];
    if (unit === undefined) throw invalidArgument(`invalid duration "${text}": invalid unit '${rest[0]}' found after number ${num}`);
    d[unit] = num;
    rest = rest.slice(1);
  }
  return d;
}

export function formatRetentionDuration(d: RetentionDuration): string {
  let s = '';
  if (d.years !== 0) s += `${d.years}y`;
  if (d.months !== 0) s += `${d.months}m`;
  if (d.days !== 0) s += `${d.days}d`;
  if (d.hours !== 0) s += `${d.hours}h`;
  return s;
}

function isZero(d: RetentionDuration): boolean {
  return d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0;
}

export interface ExpirePolicy {
  /** Counts of snapshots to keep; 0 keeps none by this rule, -1 keeps one per bucket without limit. */
  readonly last: number;
  readonly hourly: number;
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
  readonly yearly: number;
  readonly within: RetentionDuration;
  readonly withinHourly: RetentionDuration;
  readonly withinDaily: RetentionDuration;
  readonly withinWeekly: RetentionDuration;
  readonly withinMonthly: RetentionDuration;
  readonly withinYearly: RetentionDuration;
  /** Keep every snapshot that has all tags of at least one of these lists. */
  readonly tags: readonly (readonly string[])[];
}

export const emptyPolicy: ExpirePolicy = {
  last: 0,
  hourly: 0,
  daily: 0,
  weekly: 0,
  monthly: 0,
  yearly: 0,
  within: noDuration,
  withinHourly: noDuration,
  withinDaily: noDuration,
  withinWeekly: noDuration,
  withinMonthly: noDuration,
  withinYearly: noDuration,
  tags: [],
};

const countKeys = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
const withinKeys = ['withinHourly', 'withinDaily', 'withinWeekly', 'withinMonthly', 'withinYearly'] as const;

/**
 * Refuses what would silently keep nothing: counts below -1 and negative durations (restic 0.14
 * takes them and then removes the snapshots the user meant to keep; newer restic refuses them).
 */
export function checkPolicy(p: ExpirePolicy): void {
  for (const k of countKeys) {
    if (!Number.isInteger(p[k]) || p[k] < -1) throw invalidArgument(`--keep-${k}: ${p[k]} is not a count (use -1 to keep all)`);
  }
  for (const d of [p.within, ...withinKeys.map((k) => p[k])]) {
    if (d.years < 0 || d.months < 0 || d.days < 0 || d.hours < 0) {
      throw invalidArgument(`durations with negative values are not allowed for --keep-within*: ${formatRetentionDuration(d)}`);
    }
  }
}

export function isEmptyPolicy(p: ExpirePolicy): boolean {
  return p.tags.length === 0 && countKeys.every((k) => p[k] === 0) && isZero(p.within) && withinKeys.every((k) => isZero(p[k]));
}

function tagListText(tags: readonly string[]): string {
  return '[' + tags.join(', ') + ']';
}

/** restic's description of a policy, for "Applying Policy: ...". */
export function describePolicy(p: ExpirePolicy): string {
  const counts: Array<[number, string]> = [
    [p.last, 'latest'],
    [p.hourly, 'hourly'],
    [p.daily, 'daily'],
    [p.weekly, 'weekly'],
    [p.monthly, 'monthly'],
    [p.yearly, 'yearly'],
  ];
  const keeps = counts.filter(([n]) => n !== 0).map(([n, what]) => `${n === -1 ? 'all' : n} ${what}`);
  const withins: Array<[RetentionDuration, string]> = [
    [p.withinHourly, 'hourly'],
    [p.withinDaily, 'daily'],
    [p.withinWeekly, 'weekly'],
    [p.withinMonthly, 'monthly'],
    [p.withinYearly, 'yearly'],
  ];
  const keepw = withins.filter(([d]) => !isZero(d)).map(([d, what]) => `${what} snapshots within ${formatRetentionDuration(d)}`);
  let s = keeps.length > 0 ? `${keeps.join(', ')} snapshots` : '';
  if (keepw.length > 0) s += (s !== '' ? ', ' : '') + keepw.join(', ');
  if (p.tags.length > 0) s += (s !== '' ? ' and ' : '') + `all snapshots with tags [${p.tags.map(tagListText).join(' ')}]`;
  if (!isZero(p.within)) s += (s !== '' ? ' and ' : '') + `all snapshots within ${formatRetentionDuration(p.within)} of the newest`;
  return 'keep ' + s;
}

/** Counts left in each bucket after a kept snapshot was looked at (restic omits the zeros). */
export interface KeepCounters {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
}

export interface KeepReason {
  readonly entry: SnapshotEntry;
  readonly matches: string[];
  readonly counters: KeepCounters;
}

export interface PolicyResult {
  /** Newest first, as restic lists them. */
  readonly keep: SnapshotEntry[];
  readonly remove: SnapshotEntry[];
  /** One per kept snapshot, in the order of `keep`. */
  readonly reasons: KeepReason[];
}

type Bucker = (t: GoTime, nr: number) => number;

const buckers: Record<'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly', Bucker> = {
  last: (_t, nr) => nr,
  hourly: (t) => {
    const c = wallClock(t);
    return c.year * 1_000_000 + c.month * 10_000 + c.day * 100 + c.hour;
  },
  daily: (t) => {
    const c = wallClock(t);
    return c.year * 10_000 + c.month * 100 + c.day;
  },
  weekly: (t) => {
    const [year, week] = isoWeek(wallClock(t));
    return year * 100 + week;
  },
  monthly: (t) => {
    const c = wallClock(t);
    return c.year * 100 + c.month;
  },
  yearly: (t) => wallClock(t).year,
};

/** The newest snapshot time that is not in the future; the zero time if there is none. */
function latestTime(list: readonly SnapshotEntry[], nowNs: bigint): GoTime {
  let latest = zeroGoTime;
  for (const e of list) {
    const t = e.snapshot.time;
    if (t.ns > latest.ns && t.ns < nowNs) latest = t;
  }
  return latest;
}

/** Go's latest.AddDate(-y, -m, -d).Add(-h hours): the instant a within-rule reaches back to. */
function reachBack(latest: GoTime, d: RetentionDuration): bigint {
  return addDate(latest, -d.years, -d.months, -d.days).ns - BigInt(d.hours) * 3_600_000_000_000n;
}

/**
 * Splits one group's snapshots into kept and removed. The list is ordered newest first (stable
 * for equal times); then each snapshot is kept if it has a kept tag list, is within `within` of
 * the newest, or opens a new bucket in a rule that still has count left (-1: no limit) or whose
 * within-duration covers it.
 */
export function applyPolicy(entries: readonly SnapshotEntry[], p: ExpirePolicy, now: Date = new Date()): PolicyResult {
  const list = entries.map((e, i) => ({ e, i })).sort((a, b) => {
    const d = b.e.snapshot.time.ns - a.e.snapshot.time.ns;
    return d > 0n ? 1 : d < 0n ? -1 : a.i - b.i;
  });
  const sorted = list.map((x) => x.e);
  if (isEmptyPolicy(p)) {
    return { keep: sorted, remove: [], reasons: sorted.map((entry) => ({ entry, matches: ['policy is empty'], counters: {} })) };
  }
  const keep: SnapshotEntry[] = [];
  const remove: SnapshotEntry[] = [];
  const reasons: KeepReason[] = [];
  if (sorted.length === 0) return { keep, remove, reasons };

  const buckets = countKeys.map((k) => ({ key: k, count: p[k], last: -1, bucker: buckers[k], reason: `${k} snapshot` }));
  const withinBuckets = withinKeys.map((k) => {
    const name = k.slice('within'.length).toLowerCase() as 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
    return { within: p[k], last: -1, bucker: buckers[name], reason: `${name} within` };
  });
  const latest = latestTime(sorted, BigInt(now.getTime()) * 1_000_000n);
  const withinFrom = isZero(p.within) ? undefined : reachBack(latest, p.within);
  const withinBucketFrom = withinBuckets.map((b) => (isZero(b.within) ? undefined : reachBack(latest, b.within)));

  sorted.forEach((entry, nr) => {
    const t = entry.snapshot.time;
    const matches: string[] = [];
    for (const tags of p.tags) {
      if (hasTags(entry.snapshot, tags)) matches.push(`has tags ${tagListText(tags)}`);
    }
    if (withinFrom !== undefined && t.ns > withinFrom) matches.push(`within ${formatRetentionDuration(p.within)}`);
    for (const b of buckets) {
      if (b.count > 0 || b.count === -1) {
        const value = b.bucker(t, nr);
        if (value !== b.last) {
          b.last = value;
          if (b.count > 0) b.count--;
          matches.push(b.reason);
        }
      }
    }
    withinBuckets.forEach((b, i) => {
      const from = withinBucketFrom[i];
      if (from === undefined || t.ns <= from) return;
      const value = b.bucker(t, nr);
      if (value !== b.last) {
        b.last = value;
        matches.push(`${b.reason} ${formatRetentionDuration(b.within)}`);
      }
    });
    if (matches.length === 0) {
      remove.push(entry);
      return;
    }
    keep.push(entry);
    const counters: KeepCounters = {};
    for (const b of buckets) if (b.count !== 0) counters[b.key] = b.count;
    reasons.push({ entry, matches, counters });
  });
  return { keep, remove, reasons };
}
