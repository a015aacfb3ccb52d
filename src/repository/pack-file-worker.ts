// Runs in a worker thread: writes packs being filled to their temp files and hashes them on the
// way, so the main thread never blocks on a write or spends time on SHA-256 of every byte stored.

import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { PackFileReply, PackFileRequest } from './pack-file-messages.js';

const open = new Map<number, { fd: number; hash: Hash; size: number; path: string; failed?: string }>();

function writeAll(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
}

function removeTempFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Nothing was created, or it is already gone.
  }
}

function reply(message: PackFileReply, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(message, transfer);
}

parentPort!.on('message', (m: PackFileRequest) => {
  switch (m.type) {
    case 'open': {
      try {
        const fd = openSync(m.path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o400);
        open.set(m.pack, { fd, hash: createHash('sha256'), size: 0, path: m.path });
      } catch (err) {
        open.set(m.pack, { fd: -1, hash: createHash('sha256'), size: 0, path: m.path, failed: (err as Error).message });
      }
      return;
    }
    case 'write': {
      const f = open.get(m.pack)!;
      const data = new Uint8Array(m.buffer, 0, m.length);
      if (!f.failed) {
        try {
          writeAll(f.fd, data);
          f.hash.update(data);
          f.size += m.length;
        } catch (err) {
          f.failed = (err as NodeJS.ErrnoException).code === 'ENOSPC' ? 'no space left on device' : (err as Error).message;
        }
      }
      reply({ type: 'written', buffer: m.buffer }, [m.buffer]);
      return;
    }
    case 'finish': {
      const f = open.get(m.pack)!;
      open.delete(m.pack);
      if (!f.failed) {
        try {
          fsyncSync(f.fd);
        } catch (err) {
          f.failed = (err as Error).message;
        }
      }
      if (f.fd >= 0) closeSync(f.fd);
      if (f.failed) {
        removeTempFile(f.path);
        reply({ type: 'failed', pack: m.pack, message: `cannot write pack temp file ${f.path}: ${f.failed}` });
      } else {
        reply({ type: 'finished', pack: m.pack, id: f.hash.digest('hex'), size: f.size });
      }
      return;
    }
    case 'abandon': {
      for (const f of open.values()) {
        if (f.fd >= 0) closeSync(f.fd);
        removeTempFile(f.path);
      }
      open.clear();
      reply({ type: 'abandoned' });
      return;
    }
  }
});
