// RestBackend.writeFile against stub servers: the pack streams from its temp file with an exact
// Content-Length, is reopened for every attempt, and is never read into memory whole.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { access, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { RestBackend } from '../../src/backend/rest.js';
import { tempDir } from '../helpers/tmp.js';

async function stub(t: TestContext, handle: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<string> {
  let n = 0;
  const server = createServer((req, res) => handle(req, res, ++n));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve()) && server.closeAllConnections()));
  return `rest:http://127.0.0.1:${(server.address() as AddressInfo).port}/repo/`;
}

async function open(t: TestContext, location: string): Promise<RestBackend> {
  const b = await RestBackend.open(location, { retryBaseMs: 1, retryMaxMs: 5 });
  t.after(() => b.close());
  return b;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Bytes this process has read through read(2) and friends, files and sockets alike. */
async function bytesRead(): Promise<number> {
  return Number(/^rchar: (\d+)$/m.exec(await readFile('/proc/self/io', 'utf8'))![1]);
}

test('writeFile sends Content-Length from the file size and reopens the file for each attempt', async (t) => {
  const data = randomBytes(3 * 1024 * 1024 + 5);
  const received: { headers: IncomingMessage['headers']; body: Buffer }[] = [];
  const location = await stub(t, (req, res, n) => {
    const chunks: Buffer[] = [];
    let length = 0;
    req.on('data', (c: Buffer) => {
      chunks.push(c);
      length += c.length;
      // The first attempt's connection breaks half-way through the body.
      if (n === 1 && length > 1024 * 1024) req.socket.destroy();
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200).end();
    });
  });
  const b = await open(t, location);
  const path = join(await tempDir(t), 'pack.tmp');
  await writeFile(path, data);
  await b.writeFile({ type: 'data', name: sha256(data) }, path);
  assert.equal(received.length, 1, 'the broken attempt never completed; the second did');
  assert.equal(received[0]!.headers['content-length'], String(data.length));
  assert.equal(received[0]!.headers['transfer-encoding'], undefined);
  assert.ok(received[0]!.body.equals(data), 'the retry sent the whole file from its start');
  await assert.rejects(access(path), { code: 'ENOENT' }, 'the temp file is removed once stored');
});

test('writeFile streams: with the server not reading, only a bounded part of a 64 MiB file has been read', async (t) => {
  const size = 64 * 1024 * 1024;
  let paused: (() => void) | undefined;
  const stalled = new Promise<void>((resolve) => (paused = resolve));
  let bodyHash = '';
  const location = await stub(t, (req, res) => {
    const hash = createHash('sha256');
    let length = 0;
    let resumed = false;
    req.on('data', (c: Buffer) => {
      hash.update(c);
      length += c.length;
      if (length >= 1024 * 1024 && !resumed) {
        req.pause();
        paused?.();
        paused = undefined;
        release.then(() => {
          resumed = true;
          req.resume();
        });
      }
    });
    req.on('end', () => {
      bodyHash = hash.digest('hex');
      res.writeHead(200).end();
    });
  });
  let letGo!: () => void;
  const release = new Promise<void>((resolve) => (letGo = resolve));
  const b = await open(t, location);
  const path = join(await tempDir(t), 'pack.tmp');
  const data = Buffer.alloc(size, 'holdfast pack bytes ');
  await writeFile(path, data);

  const before = await bytesRead();
  const upload = b.writeFile({ type: 'data', name: sha256(data) }, path);
  await stalled;
  // Let the client fill whatever buffers it has, until its reading stops (reading /proc counts too, a little).
  let last = -Infinity;
  for (let now = await bytesRead(); now - last > 64 * 1024; now = await bytesRead()) {
    last = now;
    await sleep(200);
  }
  const readWhileStalled = last - before;
  letGo();
  await upload;
  t.diagnostic(`read ${(readWhileStalled / 1024 / 1024).toFixed(1)} MiB (file and sockets) while the server held the upload`);
  assert.ok(readWhileStalled < 24 * 1024 * 1024, `${readWhileStalled} bytes were read before the server took more than 1 MiB`);
  assert.equal(bodyHash, sha256(data), 'the server received the whole file');
});
