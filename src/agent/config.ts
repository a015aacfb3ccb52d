// Loads the agent configuration (YAML): state directory, log file and plans. Every problem is
// collected with its line and reported together, before anything runs.

import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { HoldfastError, messageOf } from '../errors.js';
import { readPlan } from './config-plan.js';
import { ConfigError, YamlReader } from './config-reader.js';
import type { AgentConfig, PlanConfig } from './config-types.js';

/** Where the agent keeps its state when the configuration does not say. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'holdfast', 'agent');
}

/** The configuration file used when none is named. */
export function defaultConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOLDFAST_AGENT_CONFIG || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'holdfast', 'agent.yaml');
}

/** Parses configuration text; `file` names it in messages and relative paths start from its folder. */
export function parseAgentConfig(text: string, file: string): AgentConfig {
  const r = new YamlReader(text);
  const dir = dirname(resolve(file));
  const at = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const top = r.root === undefined ? undefined : r.map(r.root, 'configuration');
  if (r.root === undefined) r.problem(1, 'the configuration is empty: it needs at least a plans section');
  const stateNode = top?.get('state-dir');
  const stateText = stateNode === undefined ? undefined : r.text(stateNode, 'state-dir');
  const logNode = top?.get('log');
  const log = logNode === undefined ? undefined : r.text(logNode, 'log');
  const plans: PlanConfig[] = [];
  const plansNode = top?.get('plans');
  if (top && plansNode === undefined) r.problem(top.line, 'plans is missing: name at least one plan');
  const entries = plansNode === undefined ? [] : (r.map(plansNode, 'plans', top?.keyOf('plans'))?.entries() ?? []);
  if (plansNode !== undefined && entries.length === 0) r.problem(plansNode, 'plans: no plan is defined');
  for (const e of entries) {
    const plan = readPlan(r, dir, e.key, e.value, e.keyNode);
    if (plan) plans.push(plan);
  }
  top?.finish();
  if (r.problems.length > 0) throw new ConfigError(file, [...r.problems].sort((a, b) => a.line - b.line));
  return {
    file,
    stateDir: stateText === undefined ? defaultStateDir() : at(stateText),
    log: log === undefined ? undefined : at(log),
    plans,
  };
}

export async function loadAgentConfig(file: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new HoldfastError('ERR_CONFIG', `cannot read the agent configuration ${file}: ${messageOf(err)}`);
  }
  return parseAgentConfig(text, file);
}

/** The environment variables plans read passwords from: kept from hooks, whichever plan runs. */
export function passwordVariables(config: AgentConfig): string[] {
  return config.plans.flatMap((p) => (p.repository.password.kind === 'env' ? [p.repository.password.name] : []));
}

/** The plan of that name, or an error listing the plans there are. */
export function findPlan(config: AgentConfig, name: string): PlanConfig {
  const plan = config.plans.find((p) => p.name === name);
  if (plan) return plan;
  throw new HoldfastError('ERR_INVALID_ARGUMENT', `no plan "${name}" in ${config.file} (plans: ${config.plans.map((p) => p.name).join(', ')})`);
}
