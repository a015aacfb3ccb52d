// Failures against real servers end in one-line HoldfastErrors that say what and where: refused
// connections, unknown exports, unsupported handshakes, server errors, and a server dying mid-read.

import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { HoldfastError, type ErrorCode } from '../../src/errors.js';
import { NbdClient } from '../../src/nbd/client.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { freePort, startNbdkit, startQemuNbd } from './peers.js';

/** Checks the error's code and message, and that the message is a single line. */
function fails(code: ErrorCode, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof HoldfastError, `expected a HoldfastError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  };
}

test('connection refused on TCP, and a missing Unix socket, name the address', async (t) => {
  const port = await freePort();
  await assert.rejects(
    NbdClient.connect(`nbd://127.0.0.1:${port}/disk`),
    fails('ERR_NETWORK', new RegExp(`^cannot connect to NBD server at nbd://127\\.0\\.0\\.1:${port}/disk: connection refused`)),
  );
  const dir = await tempDir(t);
  const socket = join(dir, 'nothing.sock');
  await assert.rejects(
    NbdClient.connect({ socket }, { exportName: 'x' }),
    fails('ERR_NETWORK', new RegExp(`^cannot connect to NBD server at nbd\\+unix:///x\\?socket=${socket}: no such socket file`)),
  );
});

test('an export the server does not have is refused by name (qemu-nbd and a strict nbdkit)', async (t) => {
  if (!requireTools(t, 'qemu-nbd', 'nbdkit')) return;
  const dir = await tempDir(t);
  const img = join(dir, 'disk.img');
  await writeFile(img, Buffer.alloc(1 << 20));
  const qemu = await startQemuNbd(t, dir, ['-r', '-f', 'raw', '-x', 'disk', img], { exportName: 'disk' });
  await assert.rejects(
    qemu.connect({ exportName: 'nope' }),
    fails('ERR_NOT_FOUND', /^NBD server at nbd\+unix:\/\/\/nope\?socket=\S+ has no export named 'nope'/),
  );
  // With a metadata context the refusal comes at NBD_OPT_SET_META_CONTEXT instead of NBD_OPT_GO.
  await assert.rejects(
    qemu.connect({ exportName: 'nope', metaContexts: ['base:allocation'] }),
    fails('ERR_NOT_FOUND', /has no export named 'nope'/),
  );
  const kit = await startNbdkit(t, dir, ['--filter=exportname', 'memory', '1M', 'exportname=a', 'exportname-strict=true']);
  await assert.rejects(kit.connect({ exportName: 'b' }), fails('ERR_NOT_FOUND', /has no export named 'b'/));
  assert.equal((await kit.connect({ exportName: 'a' })).size, 1 << 20);
  assert.equal((await qemu.connect({ exportName: 'disk' })).size, 1 << 20);
});

test('oldstyle and non-fixed newstyle servers are refused with the reason', async (t) => {
  if (!requireTools(t, 'nbdkit')) return;
  const dir = await tempDir(t);
  const oldstyle = await startNbdkit(t, dir, ['--oldstyle', 'memory', '1M']);
  await assert.rejects(oldstyle.connect(), fails('ERR_UNSUPPORTED', /^NBD server at \S+ speaks the oldstyle handshake.*nbdkit without -o/));
  const plainNewstyle = await startNbdkit(t, dir, ['--mask-handshake=0', 'memory', '1M']);
  await assert.rejects(plainNewstyle.connect(), fails('ERR_UNSUPPORTED', /does not offer the fixed newstyle handshake/));
});

test('a server that hangs up during the handshake is reported as such', async (t) => {
  if (!requireTools(t, 'nbdkit')) return;
  const dir = await tempDir(t);
  const peer = await startNbdkit(t, dir, ['--filter=ip', 'memory', '1M', 'deny=all'], { tcp: true });
  await assert.rejects(
    peer.connect(),
    fails('ERR_NETWORK', /^NBD server at nbd:\/\/127\.0\.0\.1:\d+\/ closed the connection during the handshake \(waiting for the greeting\)$/),
  );
});

test('block status needs structured replies: a server without them is refused up front', async (t) => {
  if (!requireTools(t, 'nbdkit')) return;
  const dir = await tempDir(t);
  const peer = await startNbdkit(t, dir, ['--no-sr', 'memory', '1M']);
  await assert.rejects(
    peer.connect({ metaContexts: ['base:allocation'] }),
    fails('ERR_UNSUPPORTED', /does not support structured replies, which block status \(base:allocation\) needs/),
  );
});

test('a read error reply fails that read with its errno; the connection stays usable', async (t) => {
  if (!requireTools(t, 'nbdkit')) return;
  const dir = await tempDir(t);
  const trigger = join(dir, 'inject-error');
  const peer = await startNbdkit(t, dir, [
    '--filter=error',
    'pattern',
    '16M',
    'error-pread=EIO',
    'error-pread-rate=100%',
    `error-pread-file=${trigger}`,
  ]);
  const client = await peer.connect();
  assert.equal((await client.read(4096, 8)).readBigUInt64BE(0), 4096n);
  await writeFile(trigger, '');
  await assert.rejects(
    client.read(8192, 4096),
    fails('ERR_IO', /^NBD server at \S+ failed a read of 4096 bytes at offset 8192: EIO \(input\/output error\)/),
  );
  await rm(trigger);
  assert.equal((await client.read(8192, 8)).readBigUInt64BE(0), 8192n);
});

test('a server killed mid-read fails every pending and queued request, and nothing hangs', { timeout: 20_000 }, async (t) => {
  if (!requireTools(t, 'nbdkit')) return;
  const dir = await tempDir(t);
  // Replies are held back far longer than the test's timeout, so only the kill can settle them.
  const peer = await startNbdkit(t, dir, ['--filter=delay', 'memory', '64M', 'rdelay=60']);
  const client = await peer.connect({ maxInFlight: 2 });
  const reads = [client.read(0, 1 << 20), client.read(1 << 20, 1 << 20), client.read(2 << 20, 1 << 20)];
  assert.equal(client.inFlight, 2, 'two requests sent, the third queued');
  await peer.kill('SIGKILL');
  const results = await Promise.allSettled(reads);
  for (const [i, r] of results.entries()) {
    assert.equal(r.status, 'rejected', `read ${i} should fail`);
    fails('ERR_NETWORK', /^NBD server at \S+ closed the connection/)((r as PromiseRejectedResult).reason);
  }
  fails('ERR_NETWORK', /closed the connection during a read of 1048576 bytes at offset 0$/)((results[0] as PromiseRejectedResult).reason);
  await assert.rejects(client.read(0, 512), fails('ERR_NETWORK', /closed the connection/));
  assert.equal(client.inFlight, 0);
  await client.close();
});

test('requests outside the export, and after close(), fail without reaching the server', async (t) => {
  if (!requireTools(t, 'nbdkit')) return;
  const dir = await tempDir(t);
  const peer = await startNbdkit(t, dir, ['memory', '1M']);
  const client = await peer.connect();
  await assert.rejects(client.read(1 << 20, 1), fails('ERR_INVALID_ARGUMENT', /beyond the end of \S+ \(size 1048576\)/));
  await assert.rejects(client.read(-1, 1), fails('ERR_INVALID_ARGUMENT', /non-negative integers/));
  await assert.rejects(client.blockStatus('base:allocation', 0, 512), fails('ERR_INVALID_ARGUMENT', /was not negotiated/));
  assert.equal((await client.read(0, 4)).length, 4);
  await client.close();
  await assert.rejects(client.read(0, 4), fails('ERR_INVALID_ARGUMENT', /is closed/));
});
