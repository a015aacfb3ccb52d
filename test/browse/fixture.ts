// A repository restic 0.14 filled with four snapshots of a small tree that has every node type,
// names that need escaping, hard links, and between the snapshots content, type and mode changes.

import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmod, link, mkdir, mkdtemp, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { holdfast, ok, restic } from '../helpers/cli.js';

const run = promisify(execFile);

export interface BrowseFixture {
  readonly dir: string;
  readonly repo: string;
  /** Snapshot ids in the order they were made. */
  readonly ids: string[];
  remove(): Promise<void>;
}

async function files(src: string): Promise<void> {
  await mkdir(join(src, 'docs', 'deep', 'a', 'b'), { recursive: true });
  await mkdir(join(src, 'bin'));
  await mkdir(join(src, 'data'));
  await writeFile(join(src, 'docs', 'readme.md'), 'hello\n');
  await writeFile(join(src, 'docs', 'notes.txt'), 'notes\n'.repeat(100));
  await writeFile(join(src, 'docs', 'deep', 'a', 'b', 'c.txt'), 'deep\n');
  await writeFile(join(src, 'bin', 'tool'), randomBytes(3000), { mode: 0o755 });
  await writeFile(join(src, 'data', 'big.bin'), randomBytes(2_500_000));
  await writeFile(join(src, 'data', 'zeros.bin'), Buffer.alloc(1_000_000));
  await writeFile(join(src, 'data', 'copy.bin'), Buffer.alloc(1_000_000));
  await writeFile(join(src, 'name with spaces & <html>.txt'), 'escape me\n');
  await writeFile(join(src, 'ünïcödé.txt'), 'unicode\n');
  await writeFile(join(src, 'empty'), '');
  await symlink('docs/readme.md', join(src, 'link'));
  await link(join(src, 'docs', 'notes.txt'), join(src, 'hard'));
  await run('mkfifo', [join(src, 'fifo')]);
}

async function change(src: string): Promise<void> {
  await writeFile(join(src, 'docs', 'readme.md'), 'hello again\n');
  await unlink(join(src, 'docs', 'notes.txt'));
  await chmod(join(src, 'bin', 'tool'), 0o700);
  await mkdir(join(src, 'new', 'dir'), { recursive: true });
  await writeFile(join(src, 'new', 'dir', 'file.txt'), 'new\n');
  await unlink(join(src, 'link'));
  await writeFile(join(src, 'link'), 'now a file\n');
  await utimes(join(src, 'empty'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
}

export async function createBrowseFixture(): Promise<BrowseFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-browse-'));
  const repo = join(dir, 'repo');
  const src = join(dir, 'src');
  await files(src);
  const backup = (args: string[]) => ok(restic(['-r', repo, 'backup', '-q', ...args], { cwd: dir }));
  // holdfast's init with the tests' cheap KDF keeps every later command of both tools quick to open.
  await ok(holdfast(['-r', repo, 'init']));
  await backup(['--time', '2020-01-02 03:04:05', '--host', 'alpha', '--tag', 'one,two', 'src']);
  await change(src);
  await backup(['--time', '2020-02-03 04:05:06', '--host', 'alpha', 'src']);
  await backup(['--time', '2021-06-07 08:09:10', '--host', 'beta', '--tag', 'three', 'src/docs']);
  await backup(['--time', '2022-01-01 00:00:00', '--host', 'beta', 'src/docs', 'src/bin']);
  const listed = JSON.parse((await ok(restic(['-r', repo, 'snapshots', '--json']))).stdout) as Array<{ id: string; time: string }>;
  const ids = listed.sort((a, b) => a.time.localeCompare(b.time)).map((s) => s.id);
  return { dir, repo, ids, remove: () => rm(dir, { recursive: true, force: true }) };
}
