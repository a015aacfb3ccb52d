// The status file (status.json in the state directory): per plan and job the last run, the last
// success, the run in progress, the next run, and how far the schedule was handled (for missed runs).

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HoldfastError, isSystemError, messageOf } from '../errors.js';
import type { JobKind } from './config-types.js';
import type { RunRecord, Trigger } from './run-record.js';

export interface JobStatus {
  readonly plan: string;
  readonly job: JobKind;
  /** Every slot of the schedule up to this time was run (RFC 3339); the missed-run logic starts here. */
  handled_through: string | null;
  next_run: string | null;
  running: { readonly started: string; readonly trigger: Trigger } | null;
  last: RunRecord | null;
  last_success: string | null;
}

export interface StatusDocument {
  readonly version: 1;
  /** When the file was last written. */
  updated: string;
  jobs: JobStatus[];
}

export const statusFile = (stateDir: string) => join(stateDir, 'status.json');

export async function readStatus(stateDir: string): Promise<StatusDocument> {
  let text: string;
  try {
    text = await readFile(statusFile(stateDir), 'utf8');
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return { version: 1, updated: new Date(0).toISOString(), jobs: [] };
    throw new HoldfastError('ERR_IO', `cannot read the agent status ${statusFile(stateDir)}: ${messageOf(err)}`);
  }
  try {
    const doc = JSON.parse(text) as StatusDocument;
    if (doc.version !== 1 || !Array.isArray(doc.jobs)) throw new Error('unknown format');
    return doc;
  } catch (err) {
    throw new HoldfastError('ERR_CORRUPT', `the agent status ${statusFile(stateDir)} is damaged (${messageOf(err)}); remove it to start afresh`);
  }
}

/** The one writer of the status file (the daemon, or a run by hand while no daemon runs). */
export class StatusStore {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly stateDir: string,
    private readonly doc: StatusDocument,
  ) {}

  static async open(stateDir: string): Promise<StatusStore> {
    await mkdir(stateDir, { recursive: true });
    return new StatusStore(stateDir, await readStatus(stateDir));
  }

  jobs(): readonly JobStatus[] {
    return this.doc.jobs;
  }

  get(plan: string, job: JobKind): JobStatus | undefined {
    return this.doc.jobs.find((j) => j.plan === plan && j.job === job);
  }

  /** Changes one job's entry (created when new) and writes the file. */
  update(plan: string, job: JobKind, change: (s: JobStatus) => void): Promise<void> {
    let entry = this.get(plan, job);
    if (!entry) {
      entry = { plan, job, handled_through: null, next_run: null, running: null, last: null, last_success: null };
      this.doc.jobs.push(entry);
    }
    change(entry);
    return this.save();
  }

  /** Writes are queued, each a whole new file renamed into place, so a reader never sees half of one. */
  private save(): Promise<void> {
    this.writing = this.writing.then(async () => {
      this.doc.updated = new Date().toISOString();
      const file = statusFile(this.stateDir);
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, JSON.stringify(this.doc, null, 2) + '\n');
      await rename(temp, file);
    });
    return this.writing;
  }
}
