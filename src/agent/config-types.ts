// What an agent configuration says once it has been read and checked: plans with their sources,
// repository, password source, schedules, retention, prune, check, hooks and webhooks.

import type { ExcludeOptions } from '../fs/exclude-rules.js';
import type { ExpirePolicy } from '../maintenance/forget-policy.js';
import type { PruneOptions } from '../maintenance/prune.js';
import type { ReadDataSubset } from '../maintenance/read-data-subset.js';
import type { GroupBy } from '../repository/snapshot-groups.js';
import type { Schedule } from './schedule.js';

export type PasswordSource =
  | { readonly kind: 'file'; readonly file: string }
  | { readonly kind: 'command'; readonly command: string }
  | { readonly kind: 'env'; readonly name: string };

export interface RepositoryConfig {
  /** A path or a `rest:` URL; relative paths are resolved against the configuration's folder. */
  readonly location: string;
  readonly cacert: string | undefined;
  readonly password: PasswordSource;
  /** How long a run waits for another process's lock on the repository before it fails. */
  readonly lockWaitMs: number;
}

export interface JobTiming {
  readonly schedule: Schedule;
  readonly randomDelayMs: number;
}

export interface RetentionConfig {
  readonly policy: ExpirePolicy;
  readonly groupBy: GroupBy;
}

export interface PruneConfig {
  readonly timing: JobTiming | undefined;
  /** Prune right after a retention pass that removed snapshots. */
  readonly afterRetention: boolean;
  readonly options: PruneOptions;
}

export interface CheckConfig {
  readonly timing: JobTiming | undefined;
  readonly readData: boolean | ReadDataSubset;
}

export interface HooksConfig {
  readonly before: readonly string[];
  readonly after: readonly string[];
  readonly timeoutMs: number;
  /** The configuration's folder: relative paths in commands mean the same as everywhere else in it. */
  readonly workDir: string;
}

export type NotifyOn = 'success' | 'failure';

export interface WebhookConfig {
  readonly url: string;
  readonly on: ReadonlySet<NotifyOn>;
  readonly timeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface PlanConfig {
  readonly name: string;
  readonly sources: readonly string[];
  readonly excludes: ExcludeOptions;
  readonly tags: readonly string[];
  readonly host: string | undefined;
  readonly openFileLog: boolean;
  readonly repository: RepositoryConfig;
  /** Undefined: the plan only runs when triggered by hand. */
  readonly backup: JobTiming | undefined;
  readonly runMissed: boolean;
  readonly retention: RetentionConfig | undefined;
  readonly prune: PruneConfig | undefined;
  readonly check: CheckConfig | undefined;
  readonly hooks: HooksConfig;
  readonly notify: readonly WebhookConfig[];
}

export interface AgentConfig {
  /** The file as it was named, for messages. */
  readonly file: string;
  /** Status file, pid file and manual triggers live here. */
  readonly stateDir: string;
  readonly log: string | undefined;
  readonly plans: readonly PlanConfig[];
}

export type JobKind = 'backup' | 'prune' | 'check';

/** The tag every snapshot of a plan carries: retention looks only at these. */
export const planTag = (plan: string) => `plan:${plan}`;
