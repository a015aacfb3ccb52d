// Incrementals from change trackers: a qcow2 persistent dirty bitmap exported by qemu-nbd -B (only
// dirty extents are read), the fallback when qemu dropped the bitmap after an unclean shutdown, and
// --changed-blocks lists, including one that misses a change and is caught by the sampled checks.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { backupImage } from '../../src/image/index.js';
import { openRepository } from '../../src/repository/keys.js';
import { holdfast, ok, testEnv } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { startQemuNbd } from '../nbd/peers.js';
import { run } from './allocation-fixtures.js';
import { imageBackup, MiB, newRepo, resticCheck, resticRestore } from './image-fixtures.js';

const diskBytes = 48 * MiB;

async function qemuIo(image: string, ...commands: string[]): Promise<void> {
  run('qemu-io', ...commands.flatMap((c) => ['-c', c]), image);
}

/** The qcow2's content as a raw file, the way qemu itself reads it. */
function asRaw(qcow2: string, raw: string): string {
  run('qemu-img', 'convert', '-O', 'raw', qcow2, raw);
  return raw;
}

test('dirty bitmap: only the dirty extents are read; the restore equals qemu-img convert of the qcow2', async (t) => {
  if (!requireTools(t, 'qemu-img', 'qemu-io', 'qemu-nbd', 'restic', 'cmp')) return;
  const dir = await tempDir(t);
  const qcow2 = join(dir, 'vm.qcow2');
  run('qemu-img', 'create', '-q', '-f', 'qcow2', qcow2, String(diskBytes));
  await qemuIo(qcow2, 'write -P 0x11 0 12M', 'write -P 0x22 20M 16M');
  run('qemu-img', 'bitmap', '--add', qcow2, 'b0');
  const repo = await newRepo(dir);

  let server = await startQemuNbd(t, dir, ['-r', '-f', 'qcow2', '-B', 'b0', qcow2]);
  const full = await imageBackup(repo, ['--image', server.uri, '--name', 'vm', '--dirty-bitmap', 'b0']);
  assert.equal(full.mode, 'full');
  assert.equal(full.blocks_read, 48);
  assert.ok(full.warnings.some((w) => /no earlier backup of image "vm"/.test(w)));
  await server.kill();

  // Three 1 MiB blocks touched: part of block 5, a 4 KiB write in block 21, block 30 zeroed.
  await qemuIo(qcow2, 'write -P 0x33 5M 64k', 'write -P 0x44 21M 4k', 'write -z 30M 1M');
  server = await startQemuNbd(t, dir, ['-r', '-f', 'qcow2', '-B', 'b0', qcow2]);
  const incr = await imageBackup(repo, ['--image', server.uri, '--name', 'vm', '--dirty-bitmap', 'b0']);
  assert.equal(incr.mode, 'dirty-bitmap');
  assert.equal(incr.generation, 2);
  assert.equal(incr.parent, full.snapshot_id);
  assert.ok(incr.blocks_sampled > 0, 'a few unchanged blocks are read to check the bitmap');
  assert.equal(incr.blocks_read, 3 + incr.blocks_sampled);
  assert.equal(incr.bytes_read, (3 + incr.blocks_sampled) * MiB, 'only the dirty blocks and the samples are read');
  assert.equal(incr.blocks_reused, 48 - 3);
  assert.equal(incr.blocks_changed, 3);
  await server.kill();

  const restored = join(dir, 'restored.img');
  await ok(holdfast(['-r', repo, 'restore-image', 'latest:vm', '--target', restored]));
  const raw = asRaw(qcow2, join(dir, 'vm.raw'));
  run('cmp', restored, raw);
  run('cmp', await resticRestore(repo, incr.snapshot_id, join(dir, 'restic'), 'vm'), raw);
  await resticCheck(repo);
});

/** Opens the qcow2 read-write in qemu-io, writes and flushes once, and is killed: the bitmap stays marked in use. */
async function uncleanShutdown(qcow2: string): Promise<void> {
  const child = spawn('qemu-io', [qcow2], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let waiter: (() => void) | undefined;
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    waiter?.();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // qemu-io takes one command per read from a socket: send each after the previous one's output.
  const send = (command: string, done: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const from = out.length;
      waiter = () => (done.test(out.slice(from)) ? resolve() : undefined);
      void exited.then(() => reject(new Error(`qemu-io exited early: ${out}`)));
      child.stdin.write(command + '\n');
    });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    await send('write -P 0x55 40M 64k', /wrote 65536\/65536 bytes/);
    // The data reaches the file, but the bitmap is never closed: it stays marked in use.
    await send('flush', /qemu-io> /);
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
    await exited;
  }
}

test('a bitmap qemu dropped after an unclean shutdown: qemu-nbd refuses it, holdfast falls back to checksum mode', async (t) => {
  if (!requireTools(t, 'qemu-img', 'qemu-io', 'qemu-nbd', 'cmp')) return;
  const dir = await tempDir(t);
  const qcow2 = join(dir, 'vm.qcow2');
  run('qemu-img', 'create', '-q', '-f', 'qcow2', qcow2, String(diskBytes));
  await qemuIo(qcow2, 'write -P 0x11 0 8M');
  run('qemu-img', 'bitmap', '--add', qcow2, 'b0');
  const repo = await newRepo(dir);
  let server = await startQemuNbd(t, dir, ['-r', '-f', 'qcow2', '-B', 'b0', qcow2]);
  await imageBackup(repo, ['--image', server.uri, '--name', 'vm']);
  await server.kill();

  await uncleanShutdown(qcow2);
  const info = JSON.parse(run('qemu-img', 'info', '--output=json', qcow2)) as { 'format-specific': { data: { bitmaps: { name: string; flags: string[] }[] } } };
  assert.ok(info['format-specific'].data.bitmaps[0]!.flags.includes('in-use'), 'qemu marks the bitmap inconsistent');
  await assert.rejects(startQemuNbd(t, dir, ['-r', '-f', 'qcow2', '-B', 'b0', qcow2]), /Bitmap 'b0' is inconsistent/);

  server = await startQemuNbd(t, dir, ['-r', '-f', 'qcow2', qcow2]);
  const s = await imageBackup(repo, ['--image', server.uri, '--name', 'vm', '--dirty-bitmap', 'b0']);
  assert.equal(s.mode, 'checksum');
  assert.equal(s.blocks_read, 48, 'every block is read');
  assert.equal(s.blocks_changed, 1);
  assert.ok(s.warnings.some((w) => /bitmap b0 is not exported.*falling back to checksum mode/.test(w)), s.warnings.join('\n'));
  await server.kill();
  const restored = join(dir, 'restored.img');
  await ok(holdfast(['-r', repo, 'restore-image', 'latest:vm', '--target', restored]));
  run('cmp', restored, asRaw(qcow2, join(dir, 'vm.raw')));
});

async function writeAt(path: string, offset: number, data: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(data, 0, data.length, offset);
  } finally {
    await fh.close();
  }
}

test('--changed-blocks reads the listed ranges; a list that misses a change is caught and read in full', async (t) => {
  if (!requireTools(t, 'cmp')) return;
  const dir = await tempDir(t);
  const image = join(dir, 'raw.img');
  await writeFile(image, randomBytes(16 * MiB));
  const repo = await newRepo(dir);
  const full = await imageBackup(repo, ['--image', image, '--block-size', '64K']);
  assert.equal(full.blocks_read, 256);

  await writeAt(image, 3 * MiB + 100, randomBytes(70_000));
  await writeAt(image, 15 * MiB, randomBytes(10));
  const list = join(dir, 'changes.txt');
  await writeFile(list, `# holdfast changed-blocks 1\n${3 * MiB + 100} 70000\n0xf00000 10\n`);
  const s = await imageBackup(repo, ['--image', image, '--changed-blocks', list]);
  assert.equal(s.mode, 'changed-blocks');
  const listed = 2 + 1;
  assert.equal(s.blocks_read, listed + s.blocks_sampled);
  assert.equal(s.blocks_changed, listed);
  const restored = join(dir, 'restored.img');
  await ok(holdfast(['-r', repo, 'restore-image', 'latest', '--target', restored]));
  run('cmp', restored, image);

  // The list names one change but not the other; samples of every other block find the missed one.
  await writeAt(image, 8 * MiB, randomBytes(100));
  await writeAt(image, 12 * MiB, randomBytes(100));
  await writeFile(list, `${8 * MiB} 100\n`);
  const r = await openRepository(new LocalBackend(repo), testEnv.HOLDFAST_PASSWORD);
  t.after(() => r.close());
  const result = await backupImage(r, { source: image, changedBlocks: list, verifySamples: 1000 });
  assert.equal(result.mode, 'checksum');
  assert.ok(result.warnings.some((w) => /block 192 \(at byte 12582912\) differs from the parent although the change list says it did not change/.test(w)), result.warnings.join('\n'));
  assert.equal(result.blocks.changed, 2);
  assert.equal(result.generation, 3);
  await r.close();
  await ok(holdfast(['-r', repo, 'restore-image', 'latest', '--target', join(dir, 'restored3.img')]));
  run('cmp', join(dir, 'restored3.img'), image);
});
