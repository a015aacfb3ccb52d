// The sections of a plan besides its backup settings: retention, prune, check, hooks and webhooks,
// each read into its typed form with the parsers the forget, prune and check commands use.

import type { Node } from 'yaml';
import { parseSize } from '../size.js';
import { checkPolicy, emptyPolicy, type ExpirePolicy, isEmptyPolicy, parseRetentionDuration, type RetentionDuration } from '../maintenance/forget-policy.js';
import { parseMaxUnused, type PruneOptions } from '../maintenance/prune.js';
import { parseReadDataSubset } from '../maintenance/read-data-subset.js';
import { parseGroupBy } from '../repository/snapshot-groups.js';
import { parseTagGroups } from '../repository/snapshots.js';
import type { At, MapFields } from './config-reader.js';
import type { CheckConfig, HooksConfig, NotifyOn, PruneConfig, RetentionConfig, WebhookConfig } from './config-types.js';
import { attempt, type Context, optionalBool, optionalDuration, optionalTexts, timing } from './config-values.js';

const DEFAULT_HOOK_TIMEOUT_MS = 60 * 60_000;
const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

const countKeys = { 'keep-last': 'last', 'keep-hourly': 'hourly', 'keep-daily': 'daily', 'keep-weekly': 'weekly', 'keep-monthly': 'monthly', 'keep-yearly': 'yearly' } as const;
const withinKeys = {
  'keep-within': 'within',
  'keep-within-hourly': 'withinHourly',
  'keep-within-daily': 'withinDaily',
  'keep-within-weekly': 'withinWeekly',
  'keep-within-monthly': 'withinMonthly',
  'keep-within-yearly': 'withinYearly',
} as const;

export function readRetention(c: Context, node: Node, at: At): RetentionConfig | undefined {
  const before = c.r.problems.length;
  const f = c.r.map(node, 'retention', at);
  if (!f) return undefined;
  const policy: { -readonly [K in keyof ExpirePolicy]: ExpirePolicy[K] } = { ...emptyPolicy };
  for (const [key, field] of Object.entries(countKeys)) {
    const v = f.get(key);
    if (v === undefined) continue;
    const n = c.r.integer(v, key);
    if (n !== undefined && n < -1) c.r.problem(v, `${key}: ${n} is not a count (use -1 to keep all)`);
    else if (n !== undefined) policy[field] = n;
  }
  for (const [key, field] of Object.entries(withinKeys)) {
    const v = f.get(key);
    if (v === undefined) continue;
    const text = c.r.text(v, key);
    const d: RetentionDuration | undefined = text === undefined ? undefined : attempt(c, v, `${key}: `, () => parseRetentionDuration(text));
    if (d !== undefined) policy[field] = d;
  }
  const tags = optionalTexts(c, f, 'keep-tag');
  if (tags !== undefined) policy.tags = parseTagGroups(tags) ?? [];
  const groupNode = f.get('group-by');
  const groupText = groupNode === undefined ? 'host,paths' : c.r.text(groupNode, 'group-by');
  const groupBy = groupText === undefined ? undefined : attempt(c, groupNode, 'group-by: ', () => parseGroupBy(groupText));
  const line = f.line;
  f.finish();
  attempt(c, line, 'retention: ', () => checkPolicy(policy));
  if (isEmptyPolicy(policy) && c.r.problems.length === before) c.r.problem(line, 'retention: no keep-* rule given, so it would keep everything; remove the section or add a rule');
  return groupBy === undefined ? undefined : { policy, groupBy };
}

export function readPrune(c: Context, node: Node, at: At): PruneConfig | undefined {
  const f = c.r.map(node, 'prune', at);
  if (!f) return undefined;
  const t = timing(c, f, 'prune');
  const afterRetention = optionalBool(c, f, 'after-retention', false);
  const maxUnusedNode = f.get('max-unused');
  const maxUnusedText = maxUnusedNode === undefined ? undefined : c.r.text(maxUnusedNode, 'max-unused');
  const maxUnused = maxUnusedText === undefined ? undefined : attempt(c, maxUnusedNode, '', () => parseMaxUnused(maxUnusedText, 'max-unused'));
  const repackNode = f.get('max-repack-size');
  const repackText = repackNode === undefined ? undefined : c.r.text(repackNode, 'max-repack-size');
  const options: PruneOptions = {
    maxUnused,
    maxRepackBytes: repackText === undefined ? undefined : attempt(c, repackNode, 'max-repack-size: ', () => Number(parseSize(repackText))),
    repackCacheableOnly: optionalBool(c, f, 'repack-cacheable-only', false),
    repackSmall: optionalBool(c, f, 'repack-small', false),
    repackUncompressed: optionalBool(c, f, 'repack-uncompressed', false),
  };
  f.finish();
  return { timing: t, afterRetention, options };
}

export function readCheck(c: Context, node: Node, at: At): CheckConfig | undefined {
  const f = c.r.map(node, 'check', at);
  if (!f) return undefined;
  const t = timing(c, f, 'check');
  const readAll = optionalBool(c, f, 'read-data', false);
  const subsetNode = f.get('read-data-subset');
  const subsetText = subsetNode === undefined ? undefined : c.r.text(subsetNode, 'read-data-subset');
  const subset = subsetText === undefined ? undefined : attempt(c, subsetNode, '', () => parseReadDataSubset(subsetText));
  if (readAll && subsetNode !== undefined) c.r.problem(subsetNode, 'check: give either read-data or read-data-subset, not both');
  f.finish();
  return { timing: t, readData: subset ?? readAll };
}

export function readHooks(c: Context, node: Node | undefined, at: At): HooksConfig {
  const none: HooksConfig = { before: [], after: [], timeoutMs: DEFAULT_HOOK_TIMEOUT_MS, workDir: c.dir };
  if (node === undefined) return none;
  const f = c.r.map(node, 'hooks', at);
  if (!f) return none;
  const before = optionalTexts(c, f, 'before') ?? [];
  const after = optionalTexts(c, f, 'after') ?? [];
  const timeoutMs = optionalDuration(c, f, 'timeout', DEFAULT_HOOK_TIMEOUT_MS);
  f.finish();
  return { before, after, timeoutMs, workDir: c.dir };
}

function webhook(c: Context, node: Node): WebhookConfig | undefined {
  const f = c.r.map(node, 'notify entry');
  if (!f) return undefined;
  const urlNode = f.get('url');
  const url = urlNode === undefined ? undefined : c.r.text(urlNode, 'url');
  if (urlNode === undefined) c.r.problem(f.line, 'notify: url is missing');
  else if (url !== undefined && !/^https?:\/\/[^/]/i.test(url)) c.r.problem(urlNode, `url "${url}": expected an http:// or https:// URL`);
  const on = new Set<NotifyOn>();
  const onNode = f.get('on');
  for (const v of onNode === undefined ? ['failure'] : (c.r.texts(onNode, 'on') ?? [])) {
    if (v === 'success' || v === 'failure') on.add(v);
    else c.r.problem(onNode, `on: "${v}" is neither success nor failure`);
  }
  const timeoutMs = optionalDuration(c, f, 'timeout', DEFAULT_WEBHOOK_TIMEOUT_MS);
  const headers: Record<string, string> = {};
  const headersNode = f.get('headers');
  if (headersNode !== undefined) {
    for (const e of c.r.map(headersNode, 'headers', f.keyOf('headers'))?.entries() ?? []) {
      const v = c.r.text(e.value, `header ${e.key}`);
      if (v !== undefined) headers[e.key] = v;
    }
  }
  f.finish();
  return url === undefined ? undefined : { url, on, timeoutMs, headers };
}

/** The `notify` list: webhooks that have problems are left out (the problems are reported). */
export function readWebhooks(c: Context, f: MapFields): WebhookConfig[] {
  const node = f.get('notify');
  if (node === undefined) return [];
  return c.r
    .list(node, 'notify')
    .map((item) => webhook(c, item))
    .filter((w): w is WebhookConfig => w !== undefined);
}
