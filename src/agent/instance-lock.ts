// One agent process per state directory: the daemon, or `agent run` while no daemon runs. A pid
// file says which; a file whose process is gone (killed, crashed) is taken over.

import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { HoldfastError, isSystemError } from '../errors.js';
import { processExists } from '../repository/process-alive.js';

export type InstanceMode = 'daemon' | 'run';

export interface InstanceInfo {
  readonly pid: number;
  readonly mode: InstanceMode;
  readonly started: string;
}

const pidFile = (stateDir: string) => join(stateDir, 'agent.pid');

/** The live process holding the state directory, if any. */
export async function readInstance(stateDir: string): Promise<InstanceInfo | undefined> {
  let info: InstanceInfo;
  try {
    info = JSON.parse(await readFile(pidFile(stateDir), 'utf8')) as InstanceInfo;
  } catch (err) {
    // Missing, or half-written by a process that is just starting: nobody holds it yet.
    if (isSystemError(err, 'ENOENT') || err instanceof SyntaxError) return undefined;
    throw err;
  }
  return typeof info.pid === 'number' && processExists(info.pid) ? info : undefined;
}

function describe(info: InstanceInfo): string {
  return info.mode === 'daemon' ? `the agent (pid ${info.pid}) is running` : `"holdfast agent run" (pid ${info.pid}) is running a job`;
}

export class InstanceLock {
  private constructor(private readonly stateDir: string) {}

  /** Takes the state directory, or fails with ERR_LOCKED naming the process that has it. */
  static async acquire(stateDir: string, mode: InstanceMode): Promise<InstanceLock> {
    const info: InstanceInfo = { pid: process.pid, mode, started: new Date().toISOString() };
    await mkdir(stateDir, { recursive: true });
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await open(pidFile(stateDir), 'wx');
        await handle.writeFile(JSON.stringify(info) + '\n');
        await handle.close();
        return new InstanceLock(stateDir);
      } catch (err) {
        if (!isSystemError(err, 'EEXIST')) throw err;
      }
      const holder = await readInstance(stateDir);
      if (holder) throw new HoldfastError('ERR_LOCKED', `${describe(holder)} with the state directory ${stateDir}`);
      await unlink(pidFile(stateDir)).catch(() => undefined);
    }
    throw new HoldfastError('ERR_LOCKED', `cannot take the state directory ${stateDir}: another agent keeps starting`);
  }

  async release(): Promise<void> {
    const holder = await readInstance(this.stateDir).catch(() => undefined);
    if (holder?.pid === process.pid) await unlink(pidFile(this.stateDir)).catch(() => undefined);
  }
}
