// Reading single values of the agent configuration: texts, booleans, durations, sizes, paths and
// schedules, each checked where it is written so that a problem is reported at its own line.

import { isAbsolute, resolve } from 'node:path';
import { messageOf } from '../errors.js';
import { parseSize } from '../size.js';
import type { At, MapFields, YamlReader } from './config-reader.js';
import type { JobTiming } from './config-types.js';
import { CronSchedule } from './cron.js';
import { parseDuration } from './duration.js';
import { EverySchedule, type Schedule } from './schedule.js';

/** The reader, plus the folder relative paths start from. */
export interface Context {
  readonly r: YamlReader;
  readonly dir: string;
}

/** Runs a parser that throws, turning its error into a problem at the node. */
export function attempt<T>(c: Context, node: At, prefix: string, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    c.r.problem(node, `${prefix}${messageOf(err)}`);
    return undefined;
  }
}

export function path(c: Context, text: string): string {
  return isAbsolute(text) ? text : resolve(c.dir, text);
}

export function optionalText(c: Context, f: MapFields, key: string): string | undefined {
  const node = f.get(key);
  return node === undefined ? undefined : c.r.text(node, key);
}

export function optionalDuration(c: Context, f: MapFields, key: string, fallback: number): number {
  const node = f.get(key);
  if (node === undefined) return fallback;
  const text = c.r.text(node, key);
  return text === undefined ? fallback : (attempt(c, node, `${key}: `, () => parseDuration(text)) ?? fallback);
}

export function optionalBool(c: Context, f: MapFields, key: string, fallback: boolean): boolean {
  const node = f.get(key);
  return node === undefined ? fallback : (c.r.bool(node, key) ?? fallback);
}

export function optionalTexts(c: Context, f: MapFields, key: string): string[] | undefined {
  const node = f.get(key);
  return node === undefined ? undefined : c.r.texts(node, key);
}

export function optionalSize(c: Context, f: MapFields, key: string): string | undefined {
  const node = f.get(key);
  const text = node === undefined ? undefined : c.r.text(node, key);
  if (text !== undefined) attempt(c, node, `${key}: `, () => parseSize(text));
  return text;
}

/** A list whose every item must pass `check` (patterns, tag files, sizes), as the backup command checks them. */
export function checkedTexts(c: Context, f: MapFields, key: string, check: (text: string) => unknown): string[] | undefined {
  const node = f.get(key);
  if (node === undefined) return undefined;
  const texts = c.r.texts(node, key);
  for (const t of texts ?? []) attempt(c, node, `${key} "${t}": `, () => check(t));
  return texts;
}

/** `schedule:` (cron) or `every:` (interval), and `random-delay:`; undefined when neither is given. */
export function timing(c: Context, f: MapFields, what: string): JobTiming | undefined {
  const cronNode = f.get('schedule');
  const everyNode = f.get('every');
  const randomDelayMs = optionalDuration(c, f, 'random-delay', 0);
  if (cronNode !== undefined && everyNode !== undefined) {
    c.r.problem(everyNode, `${what}: give either schedule or every, not both`);
    return undefined;
  }
  let schedule: Schedule | undefined;
  if (cronNode !== undefined) {
    const text = c.r.text(cronNode, 'schedule');
    if (text !== undefined) schedule = attempt(c, cronNode, `schedule "${text}": `, () => CronSchedule.parse(text));
  } else if (everyNode !== undefined) {
    const text = c.r.text(everyNode, 'every');
    if (text !== undefined) schedule = attempt(c, everyNode, `every "${text}": `, () => EverySchedule.parse(text));
  }
  return schedule === undefined ? undefined : { schedule, randomDelayMs };
}
