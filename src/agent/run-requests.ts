// Runs asked for by hand while the daemon runs: `agent run` drops a request file into the state
// directory, the daemon takes it, queues the run, and writes the run's record as a result file.

import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { HoldfastError, isSystemError } from '../errors.js';
import type { JobKind } from './config-types.js';
import type { RunRecord } from './run-record.js';

export interface RunRequest {
  readonly id: string;
  readonly plan: string;
  readonly job: JobKind;
  readonly requested: string;
}

const requestsDir = (stateDir: string) => join(stateDir, 'requests');
const resultsDir = (stateDir: string) => join(stateDir, 'results');

/** Writes a whole file under a temporary name first: the other side never reads half of it. */
async function writeWhole(file: string, data: unknown): Promise<void> {
  const temp = `${file}.tmp`;
  await writeFile(temp, JSON.stringify(data) + '\n');
  await rename(temp, file);
}

export async function requestRun(stateDir: string, plan: string, job: JobKind): Promise<RunRequest> {
  const request: RunRequest = { id: randomBytes(8).toString('hex'), plan, job, requested: new Date().toISOString() };
  await mkdir(requestsDir(stateDir), { recursive: true });
  await writeWhole(join(requestsDir(stateDir), `${request.id}.json`), request);
  return request;
}

/** The requests waiting, oldest first; each is removed as it is taken. */
export async function takeRequests(stateDir: string): Promise<RunRequest[]> {
  let names: string[];
  try {
    names = (await readdir(requestsDir(stateDir))).filter((n) => n.endsWith('.json'));
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return [];
    throw err;
  }
  const requests: RunRequest[] = [];
  for (const name of names) {
    const file = join(requestsDir(stateDir), name);
    try {
      requests.push(JSON.parse(await readFile(file, 'utf8')) as RunRequest);
    } catch {
      // Unreadable: not something `agent run` wrote; dropping it keeps it from coming back.
    }
    await unlink(file).catch(() => undefined);
  }
  return requests.sort((a, b) => a.requested.localeCompare(b.requested));
}

export async function writeResult(stateDir: string, id: string, record: RunRecord): Promise<void> {
  await mkdir(resultsDir(stateDir), { recursive: true });
  await writeWhole(join(resultsDir(stateDir), `${id}.json`), record);
}

/** Waits for the result of a request; fails if `alive` says the daemon went away meanwhile. */
export async function waitForResult(stateDir: string, id: string, alive: () => Promise<boolean>, signal?: AbortSignal): Promise<RunRecord> {
  const file = join(resultsDir(stateDir), `${id}.json`);
  for (;;) {
    // Asked before looking, so that a result written just before the daemon exits is still found.
    const gone = !(await alive());
    try {
      const record = JSON.parse(await readFile(file, 'utf8')) as RunRecord;
      await unlink(file).catch(() => undefined);
      return record;
    } catch (err) {
      if (!isSystemError(err, 'ENOENT')) throw err;
    }
    if (gone) throw new HoldfastError('ERR_INTERRUPTED', 'the agent stopped before it finished the run');
    if (signal?.aborted) throw new HoldfastError('ERR_INTERRUPTED', `stopped waiting; the run goes on in the agent (request ${id})`);
    await delay(250, undefined, { signal }).catch(() => undefined);
  }
}
