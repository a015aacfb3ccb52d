// A full disk: the server's data directory on a tiny tmpfs. An upload that runs out of space is
// answered 507, leaves no temp file, and the server keeps serving what fits.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireRoot, requireTools } from '../helpers/tools.js';
import { basic, filesUnder, http, run, sha256, startServer } from './harness.js';

test('ENOSPC during an upload is a 507 and leaves nothing behind', async (t) => {
  if (!requireRoot(t) || !requireTools(t, 'mount', 'umount')) return;
  const mountPoint = await mkdtemp(join(tmpdir(), 'holdfast-tmpfs-'));
  const mounted = await run(t, 'mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint]);
  if (mounted.code !== 0) {
    await rm(mountPoint, { recursive: true, force: true });
    t.skip(`cannot mount a tmpfs here: ${mounted.stderr.trim()}`);
    return;
  }
  let stop: () => Promise<void> = async () => undefined;
  t.after(async () => {
    await stop();
    await run(t, 'umount', [mountPoint]);
    await rm(mountPoint, { recursive: true, force: true });
  });
  const data = join(mountPoint, 'data');
  await mkdir(data);
  const s = await startServer(t, {}, data);
  stop = () => s.server.close();
  const { secret } = await s.addClient('full');
  const auth = { authorization: basic('full', secret) };
  await http(`${s.base}/full/?create=true`, { method: 'POST', headers: auth });
  const before = await filesUnder(s.repoDir('full'));

  const big = randomBytes(3 * 1024 * 1024);
  const r = await http(`${s.base}/full/data/${sha256(big)}`, { method: 'POST', headers: auth, body: big });
  assert.equal(r.status, 507);
  assert.match(r.body.toString(), /disk is full/);
  assert.deepEqual(await filesUnder(s.repoDir('full')), before, 'no partial object and no temp file');

  const small = randomBytes(100_000);
  assert.equal((await http(`${s.base}/full/data/${sha256(small)}`, { method: 'POST', headers: auth, body: small })).status, 200);
});
