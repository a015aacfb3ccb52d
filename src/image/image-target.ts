// Where an image is restored or a delta applied: a file (created, or an existing one of at least the
// image's size) or an unmounted block device of at least that size, written at block offsets.

import { open, readdir, readFile, stat, type FileHandle } from 'node:fs/promises';
import { HoldfastError, isSystemError } from '../errors.js';
import { blockDeviceSize, deviceNumbers } from './device-size.js';
import { zeros } from './zero-blocks.js';

/** Zeros are written to devices in pieces of this size, from one shared buffer. */
const ZERO_WRITE = 8 << 20;

/** The device's major:minor and those of its partitions (sysfs lists each with a `dev` file). */
async function deviceAndPartitions(rdev: number): Promise<Set<string>> {
  const { major, minor } = deviceNumbers(rdev);
  const self = `${major}:${minor}`;
  const all = new Set([self]);
  const sys = `/sys/dev/block/${self}`;
  const entries = await readdir(sys).catch(() => [] as string[]);
  for (const name of entries) {
    const dev = await readFile(`${sys}/${name}/dev`, 'utf8').catch(() => undefined);
    if (dev !== undefined) all.add(dev.trim());
  }
  return all;
}

/** Where the device, or one of its partitions, is mounted. */
async function mountedAt(rdev: number): Promise<string | undefined> {
  const devices = await deviceAndPartitions(rdev);
  let text: string;
  try {
    text = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (fields[2] !== undefined && devices.has(fields[2])) return fields[4];
  }
  return undefined;
}

export class ImageTarget {
  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    readonly kind: 'file' | 'device',
    /** Bytes the target holds when opened; at least the image's size. */
    readonly size: number,
  ) {}

  /**
   * Opens `path` for an image of `imageSize` bytes. Everything that can make the restore fail
   * (too small, mounted, not a file or device) is checked before anything is written.
   */
  static async open(path: string, imageSize: number): Promise<ImageTarget> {
    const existing = await ImageTarget.inspect(path, imageSize);
    if (existing === undefined) {
      const fh = await open(path, 'wx', 0o600).catch((err: Error) => {
        throw new HoldfastError('ERR_IO', `cannot create restore target ${path}: ${err.message}`);
      });
      await fh.truncate(imageSize);
      return new ImageTarget(fh, path, 'file', imageSize);
    }
    const target = await ImageTarget.openInPlace(path, existing);
    if (target.kind === 'file') {
      // Emptied rather than overwritten: blocks that are not written read as zeros and cost no space.
      await target.fh.truncate(0);
      await target.fh.truncate(target.size);
    }
    return target;
  }

  /** Opens an existing file or unmounted device of at least `minimumSize` bytes to change it in place. */
  static async openExisting(path: string, minimumSize: number): Promise<ImageTarget> {
    const existing = await ImageTarget.inspect(path, minimumSize);
    if (existing === undefined) throw new HoldfastError('ERR_NOT_FOUND', `target ${path} does not exist`);
    return ImageTarget.openInPlace(path, existing);
  }

  private static async openInPlace(path: string, existing: { kind: 'file' | 'device'; size: number }): Promise<ImageTarget> {
    const fh = await open(path, 'r+').catch((err: Error) => {
      throw new HoldfastError('ERR_IO', `cannot open target ${path} for writing: ${err.message}`);
    });
    return new ImageTarget(fh, path, existing.kind, existing.size);
  }

  /** Kind and size of an existing target (undefined if there is none), refusing unusable ones. */
  private static async inspect(path: string, minimumSize: number): Promise<{ kind: 'file' | 'device'; size: number } | undefined> {
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      if (isSystemError(err, 'ENOENT')) return undefined;
      throw new HoldfastError('ERR_IO', `cannot use target ${path}: ${(err as Error).message}`);
    }
    if (!st.isFile() && !st.isBlockDevice()) throw new HoldfastError('ERR_INVALID_ARGUMENT', `target ${path} is neither a regular file nor a block device`);
    const kind = st.isBlockDevice() ? 'device' : 'file';
    const size = kind === 'device' ? await blockDeviceSize(path, st.rdev) : st.size;
    if (size < minimumSize) {
      throw new HoldfastError('ERR_NO_SPACE', `target ${path} has ${size} bytes, less than the image's ${minimumSize}: nothing was written; use a target at least as large`);
    }
    if (kind === 'device') {
      const mount = await mountedAt(st.rdev);
      if (mount !== undefined) throw new HoldfastError('ERR_INVALID_ARGUMENT', `target ${path} is mounted at ${mount}: unmount it first`);
    }
    return { kind, size };
  }

  /** The bytes at [offset, offset + length); a file's end reads as zeros. */
  async read(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf;
  }

  /** Sets a file's size (a device keeps its own). */
  async resize(size: number): Promise<void> {
    if (this.kind === 'file') await this.fh.truncate(size);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.length) {
      let n: number;
      try {
        ({ bytesWritten: n } = await this.fh.write(data, done, data.length - done, offset + done));
      } catch (err) {
        throw new HoldfastError(isSystemError(err, 'ENOSPC') ? 'ERR_NO_SPACE' : 'ERR_IO', `writing ${this.path} at byte ${offset + done}: ${(err as Error).message}`);
      }
      done += n;
    }
  }

  /** Makes [offset, offset + length) zero where the target was emptied (a file from open()) or writes zeros. */
  async zero(offset: number, length: number, emptied = true): Promise<void> {
    if (this.kind === 'file' && emptied) return;
    for (let at = offset; at < offset + length; at += ZERO_WRITE) await this.write(at, zeros(Math.min(ZERO_WRITE, offset + length - at)));
  }

  /** Closes the target; a device is flushed first, since a restored disk is often used right away. */
  async close(): Promise<void> {
    try {
      if (this.kind === 'device') await this.fh.sync();
    } finally {
      await this.fh.close();
    }
  }
}
