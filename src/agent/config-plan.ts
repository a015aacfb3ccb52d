// Checks one plan of the agent configuration and builds its typed form: repository, password
// source, sources and excludes as `backup` takes them, schedule, and the sections of config-sections.

import type { Node } from 'yaml';
import { isRestLocation } from '../backend/rest-url.js';
import { parsePattern } from '../fs/patterns.js';
import { parseTagRule } from '../fs/tag-files.js';
import type { MapFields, YamlReader } from './config-reader.js';
import { readCheck, readHooks, readPrune, readRetention, readWebhooks } from './config-sections.js';
import type { PasswordSource, PlanConfig, RepositoryConfig } from './config-types.js';
import { checkedTexts, type Context, optionalBool, optionalDuration, optionalSize, optionalText, optionalTexts, path, timing } from './config-values.js';

const DEFAULT_LOCK_WAIT_MS = 10 * 60_000;

function repository(c: Context, f: MapFields, plan: string): RepositoryConfig | undefined {
  const node = f.get('repository');
  const cacert = optionalText(c, f, 'cacert');
  const lockWaitMs = optionalDuration(c, f, 'lock-wait', DEFAULT_LOCK_WAIT_MS);
  const sources: PasswordSource[] = [];
  const file = optionalText(c, f, 'password-file');
  if (file !== undefined) sources.push({ kind: 'file', file: path(c, file) });
  const command = optionalText(c, f, 'password-command');
  if (command !== undefined) sources.push({ kind: 'command', command });
  const envNode = f.get('password-env');
  const env = envNode === undefined ? undefined : c.r.text(envNode, 'password-env');
  if (env !== undefined) {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) sources.push({ kind: 'env', name: env });
    else c.r.problem(envNode, `password-env: "${env}" is not an environment variable name`);
  }
  if (sources.length === 0 && !f.has('password-env')) c.r.problem(f.line, `plan "${plan}": no password source: give password-file, password-command or password-env`);
  if (sources.length > 1) c.r.problem(f.line, `plan "${plan}": give only one of password-file, password-command and password-env`);
  if (node === undefined) {
    c.r.problem(f.line, `plan "${plan}": repository is missing (a path or a rest: URL)`);
    return undefined;
  }
  const text = c.r.text(node, 'repository');
  if (text === undefined || sources.length !== 1) return undefined;
  let location = text;
  if (!isRestLocation(text)) location = text.startsWith('local:') ? `local:${path(c, text.slice(6))}` : path(c, text);
  return { location, cacert: cacert === undefined ? undefined : path(c, cacert), password: sources[0]!, lockWaitMs };
}

/** A plan, or undefined when it has problems (they are in the reader). */
export function readPlan(r: YamlReader, dir: string, name: string, node: Node | undefined, keyNode: Node): PlanConfig | undefined {
  const c: Context = { r, dir };
  const before = r.problems.length;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) r.problem(keyNode, `plan "${name}": a name has letters, digits, '.', '_' and '-' only`);
  const f = r.map(node, `plan "${name}"`, keyNode);
  if (!f) return undefined;
  const repo = repository(c, f, name);
  const sourcesNode = f.get('sources');
  const sources = sourcesNode === undefined ? undefined : r.texts(sourcesNode, 'sources');
  if (sourcesNode === undefined) r.problem(f.line, `plan "${name}": sources is missing (the paths to back up)`);
  else if (sources?.length === 0) r.problem(sourcesNode, 'sources: the list is empty');
  const excludes = {
    exclude: checkedTexts(c, f, 'exclude', (t) => parsePattern(t)),
    iexclude: checkedTexts(c, f, 'iexclude', (t) => parsePattern(t, true)),
    excludeFile: optionalTexts(c, f, 'exclude-file')?.map((p) => path(c, p)),
    iexcludeFile: optionalTexts(c, f, 'iexclude-file')?.map((p) => path(c, p)),
    excludeIfPresent: checkedTexts(c, f, 'exclude-if-present', parseTagRule),
    excludeCaches: optionalBool(c, f, 'exclude-caches', false),
    excludeLargerThan: optionalSize(c, f, 'exclude-larger-than'),
    oneFileSystem: optionalBool(c, f, 'one-file-system', false),
  };
  const tags = optionalTexts(c, f, 'tags') ?? [];
  const host = optionalText(c, f, 'host');
  const openFileLog = optionalBool(c, f, 'open-file-log', true);
  const backup = timing(c, f, `plan "${name}"`);
  const runMissed = optionalBool(c, f, 'run-missed', true);
  const retentionNode = f.get('retention');
  const pruneNode = f.get('prune');
  const checkNode = f.get('check');
  const plan = {
    name,
    sources: (sources ?? []).map((s) => path(c, s)),
    excludes,
    tags,
    host,
    openFileLog,
    backup,
    runMissed,
    retention: retentionNode === undefined ? undefined : readRetention(c, retentionNode, f.keyOf('retention')),
    prune: pruneNode === undefined ? undefined : readPrune(c, pruneNode, f.keyOf('prune')),
    check: checkNode === undefined ? undefined : readCheck(c, checkNode, f.keyOf('check')),
    hooks: readHooks(c, f.get('hooks'), f.keyOf('hooks')),
    notify: readWebhooks(c, f),
  };
  f.finish();
  if (r.problems.length > before || repo === undefined) return undefined;
  return { ...plan, repository: repo };
}
