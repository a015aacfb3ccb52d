// The open-file log: a child process holding a file open for writing is reported, one holding a
// file open only for reading is not, and neither is a writer outside the watched paths.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { access, lstat, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { OpenFileMonitor } from '../../src/fs/open-files.js';
import { tempDir } from '../helpers/tmp.js';

/** A shell that opens `file` on fd 3 with the redirection `redirect` (`>>` or `<`) and waits. */
async function holdOpen(t: TestContext, redirect: string, file: string): Promise<ChildProcess> {
  const child = spawn('sh', ['-c', `exec 3${redirect}"$1"; exec sleep 60`, 'sh', file], { stdio: 'ignore' });
  t.after(() => {
    child.kill('SIGKILL');
  });
  // Wait until the descriptor exists (sh opens it, then becomes sleep, keeping fd 3).
  for (let i = 0; i < 500; i++) {
    try {
      await access(`/proc/${child.pid}/fd/3`);
      return child;
    } catch {
      await sleep(10);
    }
  }
  throw new Error(`the child never opened ${file}`);
}

async function id(file: string): Promise<[bigint, bigint]> {
  const st = await lstat(file, { bigint: true });
  return [st.dev, st.ino];
}

test('files other processes hold open for writing are reported, read-only ones are not', async (t) => {
  const dir = await tempDir(t);
  const watched = join(dir, 'watched');
  await mkdir(join(watched, 'sub'), { recursive: true });
  const written = join(watched, 'sub/written.log');
  const appended = join(watched, 'appended');
  const readOnly = join(watched, 'read-only');
  const outside = join(dir, 'outside');
  for (const f of [written, appended, readOnly, outside]) await writeFile(f, 'x');

  await holdOpen(t, '>>', appended);
  await holdOpen(t, '<', readOnly);
  await holdOpen(t, '>>', outside);

  const monitor = new OpenFileMonitor([watched], { intervalMs: 50 });
  await monitor.start();
  assert.equal(monitor.wasOpenForWrite(...(await id(appended))), true, 'appended');
  assert.equal(monitor.wasOpenForWrite(...(await id(readOnly))), false, 'read-only');
  assert.equal(monitor.wasOpenForWrite(...(await id(outside))), false, 'outside the watched paths');
  assert.equal(monitor.wasOpenForWrite(...(await id(written))), false, 'not open yet');

  // A writer that starts during the backup is caught by a later scan (read-write this time).
  await holdOpen(t, '<>', written);
  await monitor.stop();
  assert.equal(monitor.wasOpenForWrite(...(await id(written))), true, 'opened read-write during the run');
  assert.ok(monitor.stats.scans >= 2);
});
