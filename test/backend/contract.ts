// The Backend contract: behaviour checks every backend must pass (write-once, retries, ranges,
// listing sizes, remove, not-found, storing temp files). contract.test.ts runs them for each backend.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { access, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { Backend, FileInfo, FileType, Handle } from '../../src/backend/backend.js';
import { HoldfastError } from '../../src/errors.js';

/** Makes a fresh, empty backend for one test; cleanup is registered on the test context. */
export type BackendFactory = (t: TestContext) => Promise<Backend>;

function object(size: number): { name: string; data: Buffer } {
  const data = randomBytes(size);
  return { name: createHash('sha256').update(data).digest('hex'), data };
}

async function listAll(b: Backend, type: FileType): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const f of b.list(type)) out.push(f);
  return out.sort((x, y) => x.name.localeCompare(y.name));
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof HoldfastError && err.code === code);
}

/** A finished temp file in the backend's tempDir, as the pack writer leaves it. */
async function tempFile(b: Backend, data: Buffer): Promise<string> {
  const path = join(b.tempDir, `.contract-${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(path, data);
  return path;
}

const gone = (path: string) => assert.rejects(access(path), { code: 'ENOENT' }, `${path} is removed`);

export function backendContract(kind: string, make: BackendFactory): void {
  describe(`Backend contract: ${kind}`, () => {
    test('create is idempotent and every type lists empty', async (t) => {
      const b = await make(t);
      await b.create();
      await b.create();
      for (const type of ['data', 'keys', 'locks', 'snapshots', 'index'] as const) assert.deepEqual(await listAll(b, type), []);
    });

    test('write, stat and read back, whole and by range', async (t) => {
      const b = await make(t);
      await b.create();
      const o = object(100_000);
      const h: Handle = { type: 'data', name: o.name };
      await b.write(h, o.data);
      assert.deepEqual(await b.stat(h), { name: o.name, size: o.data.length });
      assert.ok((await b.read(h)).equals(o.data));
      assert.ok((await b.read(h, { offset: 0, length: 10 })).equals(o.data.subarray(0, 10)));
      assert.ok((await b.read(h, { offset: 12_345, length: 50_000 })).equals(o.data.subarray(12_345, 62_345)));
      assert.ok((await b.read(h, { offset: 99_999, length: 1 })).equals(o.data.subarray(99_999)));
      assert.equal((await b.read(h, { offset: 500, length: 0 })).length, 0);
    });

    test('a range past the end is a short read, not silent truncation', async (t) => {
      const b = await make(t);
      await b.create();
      const o = object(1000);
      const h: Handle = { type: 'index', name: o.name };
      await b.write(h, o.data);
      await rejectsWith(b.read(h, { offset: 900, length: 200 }), 'ERR_CORRUPT');
      await rejectsWith(b.read(h, { offset: 1000, length: 1 }), 'ERR_CORRUPT');
    });

    test('write-once: an identical retry succeeds, different content and a second config are refused', async (t) => {
      const b = await make(t);
      await b.create();
      const o = object(4096);
      const h: Handle = { type: 'snapshots', name: o.name };
      await b.write(h, o.data);
      await b.write(h, o.data);
      await rejectsWith(b.write(h, randomBytes(100)), 'ERR_ALREADY_EXISTS');
      assert.ok((await b.read(h)).equals(o.data), 'the stored object is unchanged');
      await b.write({ type: 'config' }, Buffer.from('config one'));
      await rejectsWith(b.write({ type: 'config' }, Buffer.from('config two')), 'ERR_ALREADY_EXISTS');
      assert.equal((await b.read({ type: 'config' })).toString(), 'config one');
    });

    test('lists carry exact sizes, per type', async (t) => {
      const b = await make(t);
      await b.create();
      const packs = [object(1), object(33_000), object(2_000_000)];
      for (const p of packs) await b.write({ type: 'data', name: p.name }, p.data);
      const key = object(456);
      await b.write({ type: 'keys', name: key.name }, key.data);
      const expected = packs.map((p) => ({ name: p.name, size: p.data.length })).sort((x, y) => x.name.localeCompare(y.name));
      assert.deepEqual(await listAll(b, 'data'), expected);
      assert.deepEqual(await listAll(b, 'keys'), [{ name: key.name, size: 456 }]);
      assert.deepEqual(await listAll(b, 'index'), []);
    });

    test('remove deletes, and removing a missing file succeeds', async (t) => {
      const b = await make(t);
      await b.create();
      const o = object(777);
      const h: Handle = { type: 'locks', name: o.name };
      await b.write(h, o.data);
      await b.remove(h);
      await rejectsWith(b.stat(h), 'ERR_NOT_FOUND');
      await b.remove(h);
      assert.deepEqual(await listAll(b, 'locks'), []);
    });

    test('tempDir is a writable directory; writeFile stores a temp file under its name and removes it', async (t) => {
      const b = await make(t);
      await b.create();
      assert.ok((await stat(b.tempDir)).isDirectory());
      const o = object(5 * 1024 * 1024 + 3);
      const h: Handle = { type: 'data', name: o.name };
      const path = await tempFile(b, o.data);
      await b.writeFile(h, path);
      await gone(path);
      assert.deepEqual(await b.stat(h), { name: o.name, size: o.data.length });
      assert.ok((await b.read(h)).equals(o.data));
      assert.ok((await b.read(h, { offset: 4_000_000, length: 1_000_000 })).equals(o.data.subarray(4_000_000, 5_000_000)));
      assert.deepEqual(await listAll(b, 'data'), [{ name: o.name, size: o.data.length }]);
      const index = object(0);
      const empty = await tempFile(b, index.data);
      await b.writeFile({ type: 'index', name: index.name }, empty);
      await gone(empty);
      assert.deepEqual(await listAll(b, 'index'), [{ name: index.name, size: 0 }]);
    });

    test('writeFile is write-once like write: an identical retry succeeds, different content is refused; the temp file goes either way', async (t) => {
      const b = await make(t);
      await b.create();
      const o = object(300_000);
      const h: Handle = { type: 'data', name: o.name };
      await b.writeFile(h, await tempFile(b, o.data));
      const retry = await tempFile(b, o.data);
      await b.writeFile(h, retry);
      await gone(retry);
      const other = await tempFile(b, randomBytes(1000));
      await rejectsWith(b.writeFile(h, other), 'ERR_ALREADY_EXISTS');
      await gone(other);
      assert.ok((await b.read(h)).equals(o.data), 'the stored object is unchanged');
      await b.write({ type: 'config' }, Buffer.from('config one'));
      await rejectsWith(b.writeFile({ type: 'config' }, await tempFile(b, Buffer.from('config two'))), 'ERR_ALREADY_EXISTS');
      assert.equal((await b.read({ type: 'config' })).toString(), 'config one');
    });

    test('writeFile of a temp file that does not exist fails and stores nothing', async (t) => {
      const b = await make(t);
      await b.create();
      const h: Handle = { type: 'data', name: object(10).name };
      await rejectsWith(b.writeFile(h, join(b.tempDir, `.contract-${randomBytes(6).toString('hex')}-never-written`)), 'ERR_IO');
      await rejectsWith(b.stat(h), 'ERR_NOT_FOUND');
      const stray = await tempFile(b, Buffer.from('x'));
      t.after(() => rm(stray, { force: true }));
      await rejectsWith(b.writeFile({ type: 'data', name: 'a'.repeat(63) }, stray), 'ERR_INVALID_ARGUMENT');
    });

    test('missing files are ERR_NOT_FOUND; malformed names are refused before any I/O', async (t) => {
      const b = await make(t);
      await b.create();
      const h: Handle = { type: 'data', name: object(10).name };
      await rejectsWith(b.stat(h), 'ERR_NOT_FOUND');
      await rejectsWith(b.read(h), 'ERR_NOT_FOUND');
      await rejectsWith(b.read(h, { offset: 0, length: 5 }), 'ERR_NOT_FOUND');
      await rejectsWith(b.stat({ type: 'config' }), 'ERR_NOT_FOUND');
      for (const name of ['../config', 'ABCD'.repeat(16), 'a'.repeat(63), `${'a'.repeat(63)}/`]) {
        await rejectsWith(b.stat({ type: 'data', name }), 'ERR_INVALID_ARGUMENT');
        await rejectsWith(b.write({ type: 'data', name }, Buffer.from('x')), 'ERR_INVALID_ARGUMENT');
      }
    });
  });
}
