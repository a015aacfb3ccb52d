// snapshots, ls, find, diff and stats against restic 0.14 on one repository restic wrote: where
// holdfast promises restic's output, the bytes must be equal (restic's random group and snapshot
// orders aside, which are compared by key or one snapshot at a time).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { forEachLimited } from '../../src/concurrency.js';
import { holdfast, ok, restic, type RunOptions } from '../helpers/cli.js';
import { hasTool, inCI } from '../helpers/tools.js';
import { type BrowseFixture, createBrowseFixture } from './fixture.js';

// Times in tables and `--time` are local: pin the zone so both tools agree with the fixture.
process.env.TZ = 'UTC';

const available = hasTool('restic') && hasTool('mkfifo');
if (!available && inCI) throw new Error('restic and mkfifo are required in CI');
let fx: BrowseFixture;

before(async () => {
  if (available) fx = await createBrowseFixture();
});
after(async () => {
  await fx?.remove();
});

/** Runs the same arguments through both tools; returns [holdfast, restic] outputs. */
async function both(args: string[], options: RunOptions = {}): Promise<[string, string]> {
  const [ours, theirs] = await Promise.all([ok(holdfast(['-r', fx.repo, ...args], options)), ok(restic(['-r', fx.repo, '--no-lock', ...args], options))]);
  return [ours.stdout, theirs.stdout];
}

async function sameOutput(cases: string[][], options: RunOptions = {}): Promise<void> {
  const failures: string[] = [];
  await forEachLimited(cases, 4, async (args) => {
    const [ours, theirs] = await both(args, options);
    if (ours !== theirs) failures.push(`${args.join(' ')}\n--- holdfast\n${ours}\n--- restic\n${theirs}`);
  });
  assert.deepEqual(failures, []);
}

test('snapshots: table, compact table and JSON equal restic\'s', { skip: !available }, async () => {
  await sameOutput([
    ['snapshots'],
    ['snapshots', '--compact'],
    ['snapshots', '--json'],
    ['snapshots', '--host', 'alpha'],
    ['snapshots', '--tag', 'one'],
    ['snapshots', '--tag', ''],
    ['snapshots', '--path', `${fx.dir}/src/docs`, '--json'],
    ['snapshots', '--latest', '1'],
    ['snapshots', fx.ids[1]!.slice(0, 8), fx.ids[0]!],
  ]);
});

test('snapshots --group-by: the same groups as restic, in JSON and as tables', { skip: !available }, async () => {
  for (const by of ['host', 'host,tags', 'paths', 'tags,paths']) {
    const [ours, theirs] = await both(['snapshots', '--json', '--group-by', by]);
    const key = (g: { group_key: unknown }) => JSON.stringify(g.group_key);
    const sorted = (json: string) => (JSON.parse(json) as Array<{ group_key: unknown }>).sort((a, b) => key(a).localeCompare(key(b)));
    assert.deepEqual(sorted(ours), sorted(theirs), by);
    const [oursText, theirsText] = await both(['snapshots', '--group-by', by]);
    const blocks = (text: string) => text.split(/^(?=snapshots for)/m).sort();
    assert.deepEqual(blocks(oursText), blocks(theirsText), by);
  }
});

test('ls: names, long format and JSON nodes equal restic\'s, with directory filters', { skip: !available }, async () => {
  const [first, second, , multi] = fx.ids as [string, string, string, string];
  await sameOutput([
    ['ls', first],
    ['ls', '-l', first],
    ['ls', '--json', first],
    ['ls', '--json', second],
    ['ls', '-l', multi],
    ['ls', second, '/src/docs'],
    ['ls', second, '/src/docs/', '/src/new'],
    ['ls', '--recursive', second, '/src/docs', '/src/link'],
    ['ls', '--host', 'alpha', 'latest'],
  ]);
  await sameOutput([['ls', '-l', second]], { env: { TZ: 'America/New_York' } });
});

test('find: matches per snapshot equal restic\'s for globs, paths, case, times and JSON', { skip: !available }, async () => {
  const [first, second, , multi] = fx.ids as [string, string, string, string];
  await sameOutput([
    ['find', '-s', first, 'readme.md', 'docs'],
    ['find', '-s', second, '*.txt'],
    ['find', '-s', multi, '/src/docs/*', '**/b/*'],
    ['find', '-s', first, '-i', 'README*', 'ÜNÏ*'],
    ['find', '-s', second, '-l', '*.bin', 'link'],
    ['find', '-s', first, '--json', '*.txt', 'tool', 'fifo'],
    ['find', '-s', second, '--json', 'nothing'],
    ['find', '-s', second, 'nothing'],
    ['find', '-s', second, '-N', '2000-01-01', 'empty', 'readme.md'],
    ['find', '-s', second, '-O', '2001-06-01 10:00', 'empty', 'tool'],
  ]);
});

test('find --blob/--tree/--pack report the same uses as restic', { skip: !available }, async () => {
  const blobs = (await ok(restic(['-r', fx.repo, 'list', 'blobs']))).stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]);
  const data = blobs.filter(([type]) => type === 'data').map(([, id]) => id);
  const trees = blobs.filter(([type]) => type === 'tree').map(([, id]) => id);
  const pack = (await ok(restic(['-r', fx.repo, 'list', 'packs']))).stdout.trim().split('\n')[0]!;
  const [first, second] = fx.ids as [string, string];
  await sameOutput([
    ['find', '-s', first, '--blob', data[0]!, data[1]!.slice(0, 8)],
    ['find', '-s', second, '--json', '--blob', data[2]!],
    ['find', '-s', first, '--tree', trees[1]!.slice(0, 8)],
    ['find', '-s', second, '--pack', pack],
    ['find', '-s', first, '--blob', '--show-pack-id', data[0]!],
  ]);
});

test('diff: the change list and statistics equal restic\'s, in text and JSON', { skip: !available }, async () => {
  const [a, b, c, d] = fx.ids as [string, string, string, string];
  await sameOutput([
    ['diff', a, b],
    ['diff', b, a],
    ['diff', '--metadata', a, b],
    ['diff', '--json', a, b],
    ['diff', '--json', '--metadata', b, a],
    ['diff', a, c],
    ['diff', c, d],
    ['diff', d, d],
    ['diff', '-q', a, b],
  ]);
});

test('stats: every counting mode gives restic\'s numbers, plus the ratio lines', { skip: !available }, async () => {
  const runs = [
    ...['restore-size', 'files-by-contents', 'raw-data', 'blobs-per-file'].map((mode) => ['--mode', mode]),
    ['--mode', 'restore-size', fx.ids[0]!],
    ['--mode', 'blobs-per-file', '--host', 'beta'],
    ['--mode', 'raw-data', 'latest'],
  ];
  await forEachLimited(runs, 2, async (sel) => {
    const [ours, theirs] = await both(['stats', ...sel]);
    const restic = theirs.split('\n').length - 1;
    assert.equal(ours.split('\n').slice(0, restic).join('\n') + '\n', theirs, sel.join(' '));
    assert.match(ours, /^Deduplication Ratio: {3}\d+\.\d\dx\n {2}Compression Ratio: {3}\d+\.\d\dx\n$/m);
    const [oursJson, theirsJson] = await both(['stats', '--json', ...sel]);
    const { deduplication_ratio: dedup, compression_ratio: compression, ...rest } = JSON.parse(oursJson) as Record<string, number>;
    assert.deepEqual(rest, JSON.parse(theirsJson));
    assert.ok(dedup! > 0 && compression! > 0);
  });
  // zeros.bin and copy.bin share their one blob, and the second snapshot shares most of the first.
  const all = JSON.parse((await ok(holdfast(['-r', fx.repo, 'stats', '--json', '--mode', 'raw-data']))).stdout) as { deduplication_ratio: number; compression_ratio: number };
  assert.ok(all.deduplication_ratio > 2, `deduplication ratio ${all.deduplication_ratio}`);
  assert.ok(all.compression_ratio > 1.3, `compression ratio ${all.compression_ratio}`);
});
