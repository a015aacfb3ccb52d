// A lock file that serializes read-modify-write of a small file between processes (the running
// server and `holdfast server client ...` commands). A lock whose process is gone is taken over.

import { open, readFile, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { HoldfastError, isSystemError } from '../errors.js';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isSystemError(err, 'ESRCH');
  }
}

async function tryAcquire(path: string): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o600);
    await fh.writeFile(String(process.pid));
    await fh.close();
    return true;
  } catch (err) {
    if (!isSystemError(err, 'EEXIST')) throw err;
  }
  const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  // An empty file is a lock being written right now; only a dead owner makes a lock stale.
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) {
    await unlink(path).catch(() => undefined);
  }
  return false;
}

export async function withFileLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (!(await tryAcquire(path))) {
    if (Date.now() > deadline) {
      throw new HoldfastError('ERR_LOCKED', `${path} is held by another process; try again when it has finished`);
    }
    await sleep(25);
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}
