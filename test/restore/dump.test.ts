// dump: a file's bytes on stdout exactly; a directory as a tar that GNU tar extracts into the same
// tree (names, modes, owners, nanosecond mtimes, symlinks, hard links, devices, xattrs), or a zip.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { holdfast, ok } from '../helpers/cli.js';
import { compareTrees } from '../helpers/compare-trees.js';
import { awkwardNames, makeFixtureTree } from '../helpers/fixture-tree.js';
import { requireTools } from '../helpers/tools.js';
import { backUp } from './harness.js';

test('dump of a file writes exactly its bytes', async (t) => {
  if (!requireTools(t, 'python3')) return;
  const b = await backUp(t, (src) => makeFixtureTree(src, { depth: 2 }));
  for (const file of ['large/text-12MiB.txt', 'large/random-9MiB.bin', 'large/sparse-64MiB.img', 'empty', 'names/new\nline']) {
    const r = await ok(holdfast(['-r', b.repo, 'dump', 'latest', join(b.src, file)]));
    assert.ok(r.stdoutBytes.equals(await readFile(join(b.src, file))), file);
  }
  const dir = await holdfast(['-r', b.repo, 'dump', 'latest', join(b.src, 'links/to-hello')]);
  assert.notEqual(dir.code, 0);
  assert.match(dir.stderr, /should be a file, but is a symlink/);
});

test('dump of a directory as tar extracts to the same tree', async (t) => {
  if (!requireTools(t, 'python3', 'tar')) return;
  const b = await backUp(t, (src) => makeFixtureTree(src, { depth: 30 }));
  const r = await ok(holdfast(['-r', b.repo, 'dump', 'latest', b.src]));
  const out = join(b.dir, 'untarred');
  await mkdir(out);
  await writeFile(join(b.dir, 'dump.tar'), r.stdoutBytes);
  execFileSync('tar', ['-C', out, '--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', join(b.dir, 'dump.tar')]);
  // restic's dump leaves the directory itself out: only its contents are compared.
  assert.deepEqual(await compareTrees(b.src, join(out, b.src), { root: false }), []);
  const listing = execFileSync('tar', ['-tvf', join(b.dir, 'dump.tar')], { encoding: 'latin1' });
  assert.match(listing, /^h.*\/hardlinks\/b link to .*\/hardlinks\/a$/m, 'hard links are link entries');
});

test('dump of a directory as zip holds the files, directories and symlinks', async (t) => {
  if (!requireTools(t, 'python3', 'unzip')) return;
  const b = await backUp(t, (src) => makeFixtureTree(src, { depth: 3, unreadable: false }));
  const r = await ok(holdfast(['-r', b.repo, 'dump', '--archive', 'zip', 'latest', b.src]));
  const zip = join(b.dir, 'dump.zip');
  await writeFile(zip, r.stdoutBytes);
  execFileSync('unzip', ['-tq', zip]);
  // Every name as raw bytes (UTF-8 when flagged so, else as stored), as Python's zipfile reads them.
  const names = execFileSync('python3', ['-c', zipNames, zip], { encoding: 'utf8' }).trim().split('\n');
  const src = b.src.slice(1);
  for (const name of awkwardNames) assert.ok(names.includes(Buffer.from(`${src}/names/`).toString('hex') + name.toString('hex')), `${JSON.stringify(name.toString())} is in the zip`);
  const out = join(b.dir, 'unzipped');
  await mkdir(out);
  execFileSync('unzip', ['-q', '-K', zip], { cwd: out });
  // unzip drops control characters from names; the other entries must come out the same. A zip
  // keeps content, names and symlinks: no owners, xattrs, nanoseconds, fifos or devices.
  const diffs = await compareTrees(b.src, join(out, b.src), {
    root: false,
    mtimes: false,
    owners: false,
    xattrs: false,
    hardLinks: false,
    ignore: (rel) => rel.toString('latin1').startsWith('names/'),
  });
  assert.deepEqual(
    diffs.filter((d) => !/: only in .* \((fifo|chardev|blockdev)\)$/.test(d)),
    [],
  );
});

const zipNames = `
import sys, zipfile
for i in zipfile.ZipFile(sys.argv[1]).infolist():
    print(i.filename.encode('utf-8' if i.flag_bits & 0x800 else 'cp437').hex())
`;
