// The open-file log: a file another process holds open for writing while the backup reads it is
// listed in the summary and recorded with the snapshot; a file open only for reading is not.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'node:test';
import { holdfast, ok } from '../helpers/cli.js';
import { summaryOf } from '../helpers/backup-json.js';
import { tempDir } from '../helpers/tmp.js';

test('files open for writing during the backup are logged in the summary and the snapshot', async (t) => {
  const dir = await tempDir(t);
  const repo = join(dir, 'repo');
  const src = join(dir, 'src');
  await mkdir(src);
  await writeFile(join(src, 'db.log'), 'being written\n');
  await writeFile(join(src, 'read-only.txt'), 'only read\n');
  await writeFile(join(src, 'quiet.txt'), 'nobody has it open\n');
  const writer = spawn('sh', ['-c', 'exec 3>>"$1" 4<"$2"; echo ready; exec sleep 60', 'sh', join(src, 'db.log'), join(src, 'read-only.txt')], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => writer.kill('SIGKILL'));
  await new Promise((resolve) => writer.stdout.once('data', resolve));
  await ok(holdfast(['-r', repo, 'init']));

  const s = summaryOf(await ok(holdfast(['-r', repo, '--json', 'backup', src])));
  assert.deepEqual(s.open_for_write, [join(src, 'db.log')]);
  const snapshot = JSON.parse((await ok(holdfast(['-r', repo, 'cat', 'snapshot', s.snapshot_id!]))).stdout);
  assert.deepEqual(snapshot.holdfast_open_files, [join(src, 'db.log')]);

  writer.kill('SIGKILL');
  await sleep(100);
  await writeFile(join(src, 'db.log'), 'changed after the writer left\n');
  const later = summaryOf(await ok(holdfast(['-r', repo, '--json', 'backup', src])));
  assert.deepEqual(later.open_for_write, []);
});
