// The size of a block device, which stat() reports as 0: Linux publishes it in sysfs, in 512-byte
// sectors, under the device's major:minor numbers.

import { readFile } from 'node:fs/promises';
import { HoldfastError } from '../errors.js';

/** Splits a Linux dev_t as glibc's gnu_dev_major/minor do. */
export function deviceNumbers(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { major, minor };
}

export async function blockDeviceSize(path: string, rdev: number): Promise<number> {
  const { major, minor } = deviceNumbers(rdev);
  const sys = `/sys/dev/block/${major}:${minor}/size`;
  try {
    return Number((await readFile(sys, 'utf8')).trim()) * 512;
  } catch (err) {
    throw new HoldfastError('ERR_UNSUPPORTED', `cannot find the size of block device ${path} (${sys}: ${(err as Error).message})`);
  }
}
