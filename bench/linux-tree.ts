// The benchmark corpus: the Linux 6.1 source tree from Debian's linux-source-6.1 package,
// extracted once into a work directory that later runs reuse.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const benchRoot = process.env.HOLDFAST_BENCH_DIR ?? '/var/tmp/holdfast-bench';
const tarball = '/usr/src/linux-source-6.1.tar.xz';

/** Path of the extracted tree; extracts it on first use. */
export function linuxTree(): string {
  const tree = join(benchRoot, 'linux-source-6.1');
  if (existsSync(join(tree, 'Makefile'))) return tree;
  if (!existsSync(tarball)) throw new Error(`${tarball} not found: apt-get install -y linux-source-6.1`);
  mkdirSync(benchRoot, { recursive: true });
  console.error(`extracting ${tarball} into ${benchRoot} (once)...`);
  const r = spawnSync('tar', ['-xJf', tarball, '-C', benchRoot], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('extracting the Linux source failed');
  return tree;
}

/** Reads every file once so that the first measured step does not pay for a cold page cache alone. */
export function warmCache(tree: string): void {
  spawnSync('sh', ['-c', `tar -cf - -C "${tree}" . > /dev/null`], { stdio: 'inherit' });
}
