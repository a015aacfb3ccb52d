// Reads through NbdClient from real servers (nbdkit, qemu-nbd) over Unix sockets and TCP: data
// equals the source file, big reads split, block-size limits obeyed, pipelined reads stay correct.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { startNbdkit, startQemuNbd } from './peers.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The nbdkit pattern plugin fills each 8-byte word with its own offset, big-endian. */
function assertPattern(buf: Buffer, offset: number): void {
  const first = offset - (offset % 8);
  const expected = Buffer.alloc(Math.ceil((offset + buf.length - first) / 8) * 8);
  for (let at = 0; at < expected.length; at += 8) {
    const word = first + at;
    expected.writeUInt32BE(Math.floor(word / 2 ** 32), at);
    expected.writeUInt32BE(word % 2 ** 32, at + 4);
  }
  const want = expected.subarray(offset - first, offset - first + buf.length);
  if (!buf.equals(want)) {
    let i = 0;
    while (buf[i] === want[i]) i++;
    assert.fail(`byte at ${offset + i} is ${buf[i]}, the pattern has ${want[i]}`);
  }
}

async function randomFile(dir: string, size: number): Promise<string> {
  const path = join(dir, 'random.img');
  await writeFile(path, randomBytes(size));
  return path;
}

for (const tcp of [false, true]) {
  const over = tcp ? 'TCP on 127.0.0.1' : 'a Unix socket';

  test(`nbdkit file export over ${over}: whole-image read equals the file`, async (t) => {
    if (!requireTools(t, 'nbdkit')) return;
    const dir = await tempDir(t);
    const file = await randomFile(dir, 24 * MiB + 4096 + 17);
    const peer = await startNbdkit(t, dir, ['-r', 'file', file], { tcp });
    const client = await peer.connect();
    assert.equal(client.size, 24 * MiB + 4096 + 17);
    assert.equal(client.structuredReplies, true);
    const data = await client.read(0, client.size);
    assert.equal(sha256(data), sha256(await readFile(file)));
  });

  test(`qemu-nbd raw export over ${over}: whole-image read equals the file`, async (t) => {
    if (!requireTools(t, 'qemu-nbd')) return;
    const dir = await tempDir(t);
    const file = await randomFile(dir, 40 * MiB + 512);
    const peer = await startQemuNbd(t, dir, ['-r', '-f', 'raw', '-x', 'disk', file], { tcp, exportName: 'disk' });
    const client = await peer.connect();
    assert.equal(client.exportName, 'disk');
    assert.equal(client.flags.readOnly, true);
    assert.equal(client.blockSize.advertised, true);
    const data = await client.read(0, client.size);
    assert.equal(sha256(data), sha256(await readFile(file)));
    // An odd slice, to catch offset arithmetic that only works on aligned ranges.
    const slice = await client.read(12345, 3 * MiB + 3);
    assert.deepEqual(slice, (await readFile(file)).subarray(12345, 12345 + 3 * MiB + 3));
  });
}

test('a read larger than 32 MiB is split into several requests and reassembled in order', async (t) => {
  if (!requireTools(t, 'nbdkit')) return;
  const dir = await tempDir(t);
  const peer = await startNbdkit(t, dir, ['pattern', '256M']);
  const client = await peer.connect({ maxInFlight: 2 });
  assert.equal(client.blockSize.maximum, 32 * MiB);
  const offset = 3 * MiB + 5;
  const data = await client.read(offset, 100 * MiB + 3);
  assert.equal(data.length, 100 * MiB + 3);
  assertPattern(data, offset);
});

test("the server's block-size limits are obeyed: unaligned reads widened, big reads split at its maximum", async (t) => {
  if (!requireTools(t, 'nbdkit')) return;
  const dir = await tempDir(t);
  // With blocksize-error-policy=error, nbdkit fails any request that breaks its constraints.
  const peer = await startNbdkit(t, dir, [
    '--filter=blocksize-policy',
    'pattern',
    '8M',
    'blocksize-minimum=4096',
    'blocksize-maximum=64K',
    'blocksize-error-policy=error',
  ]);
  const client = await peer.connect();
  assert.deepEqual(client.blockSize, { minimum: 4096, preferred: 4096, maximum: 65536, advertised: true });
  const data = await client.read(1000, 300_001);
  assert.equal(data.length, 300_001);
  assertPattern(data, 1000);
  assertPattern(await client.read(client.size - 3, 3), client.size - 3);
});

test('pipelined reads with bounded parallelism each return their own data', async (t) => {
  if (!requireTools(t, 'qemu-nbd')) return;
  const dir = await tempDir(t);
  const file = await randomFile(dir, 16 * MiB);
  const content = await readFile(file);
  const peer = await startQemuNbd(t, dir, ['-r', '-f', 'raw', file]);
  const client = await peer.connect({ maxInFlight: 3 });

  const ranges = Array.from({ length: 64 }, (_, i) => {
    const length = 1 + ((i * 7919) % (512 * 1024));
    return { offset: (i * 104729 * 13) % (content.length - length), length };
  });
  let maxSeen = 0;
  let settled = false;
  const all = Promise.all(ranges.map((r) => client.read(r.offset, r.length))).finally(() => (settled = true));
  while (!settled) {
    maxSeen = Math.max(maxSeen, client.inFlight);
    await nextTurn();
  }
  const results = await all;
  results.forEach((data, i) => {
    const { offset, length } = ranges[i]!;
    assert.ok(data.equals(content.subarray(offset, offset + length)), `read ${i} at ${offset}+${length} differs`);
  });
  assert.equal(maxSeen, 3, 'requests in flight should reach the limit of 3 and never pass it');
  assert.equal(client.inFlight, 0);
});

test('a server without structured replies (nbdkit --no-sr) still serves reads through simple replies', async (t) => {
  if (!requireTools(t, 'nbdkit')) return;
  const dir = await tempDir(t);
  const file = await randomFile(dir, 5 * MiB + 1);
  const peer = await startNbdkit(t, dir, ['--no-sr', '-r', 'file', file]);
  const client = await peer.connect({ maxInFlight: 4 });
  assert.equal(client.structuredReplies, false);
  const [whole, part] = await Promise.all([client.read(0, client.size), client.read(777, 4096)]);
  const content = await readFile(file);
  assert.equal(sha256(whole), sha256(content));
  assert.deepEqual(part, content.subarray(777, 777 + 4096));
});
