// A raw image file or a block device as an image source: positional reads through the thread pool,
// and a before/after look at size and modification time to notice a source written during backup.

import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { HoldfastError, isSystemError } from '../errors.js';
import { blockDeviceSize } from './device-size.js';
import type { ImageSource } from './image-source.js';

function openError(path: string, err: unknown): HoldfastError {
  if (isSystemError(err, 'ENOENT')) return new HoldfastError('ERR_NOT_FOUND', `image source ${path} does not exist`);
  if (isSystemError(err, 'EACCES', 'EPERM')) return new HoldfastError('ERR_PERMISSION', `image source ${path} cannot be read: permission denied`);
  return new HoldfastError('ERR_IO', `cannot open image source ${path}: ${(err as Error).message}`);
}

export async function openFileSource(path: string): Promise<ImageSource> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw openError(path, err);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new HoldfastError('ERR_INVALID_ARGUMENT', `image source ${path} is a directory; back it up with "holdfast backup ${path}"`);
    if (!st.isFile() && !st.isBlockDevice()) throw new HoldfastError('ERR_INVALID_ARGUMENT', `image source ${path} is neither a file, a block device nor an NBD URI`);
    const kind = st.isBlockDevice() ? 'device' : 'file';
    const size = kind === 'device' ? await blockDeviceSize(path, st.rdev) : st.size;
    return new FileSource(fh, path, kind, size, st.mtimeMs);
  } catch (err) {
    await fh.close();
    throw err;
  }
}

class FileSource implements ImageSource {
  readonly defaultName: string;

  constructor(
    private readonly fh: FileHandle,
    readonly location: string,
    readonly kind: 'file' | 'device',
    readonly size: number,
    private readonly mtimeMs: number,
  ) {
    this.defaultName = basename(location);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    await this.readInto(offset, buf);
    return buf;
  }

  async readInto(offset: number, target: Buffer): Promise<void> {
    let done = 0;
    while (done < target.length) {
      let n: number;
      try {
        ({ bytesRead: n } = await this.fh.read(target, done, target.length - done, offset + done));
      } catch (err) {
        throw new HoldfastError('ERR_IO', `reading ${this.location} at byte ${offset + done}: ${(err as Error).message}`);
      }
      if (n === 0) throw new HoldfastError('ERR_IO', `${this.location} ended at byte ${offset + done}, before its size of ${this.size} bytes: it shrank while being read`);
      done += n;
    }
  }

  async changedSinceOpen(): Promise<string | undefined> {
    if (this.kind === 'device') return undefined;
    const st = await this.fh.stat();
    if (st.size !== this.size) return `${this.location} changed size from ${this.size} to ${st.size} bytes while it was read`;
    if (st.mtimeMs !== this.mtimeMs) return `${this.location} was modified while it was read`;
    return undefined;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
