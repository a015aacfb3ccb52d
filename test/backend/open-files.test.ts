// Pack descriptors kept open between reads: one open serves many reads, a removed or replaced file
// is not served from an old descriptor for long, and nothing stays open after close.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalBackend } from '../../src/backend/local.js';
import { OpenFiles } from '../../src/backend/open-files.js';
import { HoldfastError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';

/** Paths this process has open under `dir`. */
async function openUnder(dir: string): Promise<string[]> {
  const paths: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(join('/proc/self/fd', fd)).catch(() => '');
    if (target.startsWith(dir)) paths.push(target);
  }
  return paths;
}

test('many reads of a file open it once, at once or one after another; closeAll closes it', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'f');
  await writeFile(path, randomBytes(4096));
  const files = new OpenFiles(4, 60_000);
  let opens = 0;
  const opener = () => {
    opens++;
    return open(path, 'r');
  };
  const read = (at: number) => files.with(path, opener, async (fh) => (await fh.read(Buffer.alloc(16), 0, 16, at)).bytesRead);
  assert.deepEqual(await Promise.all([read(0), read(16), read(32)]), [16, 16, 16]);
  for (let i = 0; i < 5; i++) await read(i * 100);
  assert.equal(opens, 1);
  assert.deepEqual(await openUnder(dir), [path]);
  await files.closeAll();
  assert.deepEqual(await openUnder(dir), []);
});

test('past its age a descriptor is replaced: a file replaced behind its back is read anew', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'f');
  await writeFile(path, 'first');
  const files = new OpenFiles(4, 50);
  const text = () => files.with(path, () => open(path, 'r'), async (fh) => (await fh.readFile()).toString());
  assert.equal(await text(), 'first');
  await rm(path);
  await writeFile(path, 'second');
  await sleep(80);
  assert.equal(await text(), 'second');
  await files.closeAll();
  assert.deepEqual(await openUnder(dir), []);
});

test('beyond the limit the least recently used descriptor no read is using is closed', async (t) => {
  const dir = await tempDir(t);
  const paths = ['a', 'b', 'c'].map((n) => join(dir, n));
  for (const p of paths) await writeFile(p, p);
  const files = new OpenFiles(2, 60_000);
  for (const p of paths) await files.with(p, () => open(p, 'r'), async () => undefined);
  assert.deepEqual((await openUnder(dir)).sort(), paths.slice(1));
  await files.closeAll();
});

test('the local backend keeps a pack open between range reads, and a removed pack is gone', async (t) => {
  const dir = await tempDir(t);
  const backend = new LocalBackend(dir);
  await backend.create();
  const data = randomBytes(64 * 1024);
  const name = randomBytes(32).toString('hex');
  const h = { type: 'data', name } as const;
  await backend.write(h, data);
  for (let at = 0; at < data.length; at += 8192) {
    assert.deepEqual(await backend.read(h, { offset: at, length: 8192 }), data.subarray(at, at + 8192));
  }
  assert.equal((await openUnder(dir)).length, 1);
  await backend.remove(h);
  assert.deepEqual(await openUnder(dir), []);
  await assert.rejects(backend.read(h, { offset: 0, length: 16 }), (e: unknown) => e instanceof HoldfastError && e.code === 'ERR_NOT_FOUND');
  await backend.write(h, data);
  await backend.read(h, { offset: 0, length: 16 });
  await backend.close();
  assert.deepEqual(await openUnder(dir), []);
});
