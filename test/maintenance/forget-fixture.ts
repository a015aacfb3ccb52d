// Repositories with hundreds of snapshots at crafted times for retention tests: snapshot documents
// written directly over one tiny shared tree, which restic reads like any other repository.

import { LocalBackend } from '../../src/backend/local.js';
import type { GoTime } from '../../src/format/go-json.js';
import { makeNode } from '../../src/format/node.js';
import { encodeTree } from '../../src/format/tree.js';
import { initRepository } from '../../src/repository/keys.js';
import { saveSnapshot } from '../../src/repository/snapshots.js';
import { saveTree } from '../../src/repository/trees.js';

export interface FixtureSnapshot {
  readonly time: GoTime;
  readonly hostname: string;
  readonly paths: string[];
  readonly tags?: string[];
}

/** A small deterministic generator (mulberry32), so a failure can be reproduced. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MS = 1_000_000n;

export function at(ms: number, offsetMinutes: number): GoTime {
  return { ns: BigInt(ms) * MS, offsetMinutes };
}

/** The offset Europe/Berlin has at an instant, in minutes. */
export function berlinOffset(ms: number): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', timeZoneName: 'longOffset' })
    .formatToParts(new Date(ms))
    .find((p) => p.type === 'timeZoneName')!.value;
  const m = /GMT([+-])(\d\d):(\d\d)/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

const tagChoices: Array<string[] | undefined> = [undefined, undefined, ['a'], ['a', 'b'], ['c'], ['important']];

/**
 * Two groups over two and a half years at irregular intervals: h1 with times in UTC and in two
 * fixed offsets (wall-clock buckets then differ from UTC's), h2 with its paths listed unsorted;
 * h1 also has two snapshots in the future, which "latest" must ignore. No two share an instant.
 */
export function mixedSnapshots(seed: number): FixtureSnapshot[] {
  const rnd = random(seed);
  const list: FixtureSnapshot[] = [];
  const used = new Set<number>();
  const add = (ms: number, offset: number, hostname: string, paths: string[]) => {
    while (used.has(ms)) ms += 1000;
    used.add(ms);
    list.push({ time: at(ms, offset), hostname, paths, tags: tagChoices[Math.floor(rnd() * tagChoices.length)] });
  };
  let t = Date.UTC(2019, 0, 1, 5, 17, 3);
  for (let i = 0; i < 260; i++) {
    t += Math.floor((0.4 + rnd() * rnd() * 70) * 3600_000) + Math.floor(rnd() * 1000) * 1000;
    const r = rnd();
    add(t, r < 0.8 ? 0 : r < 0.9 ? 120 : -420, 'h1', ['/data']);
  }
  t = Date.UTC(2020, 5, 1, 22, 40, 0);
  for (let i = 0; i < 110; i++) {
    t += Math.floor((1 + rnd() * 120) * 3600_000);
    add(t, 0, 'h2', ['/etc', '/data']);
  }
  add(Date.UTC(2099, 0, 1), 0, 'h1', ['/data']);
  add(Date.UTC(2099, 5, 1), 0, 'h1', ['/data']);
  return list;
}

/**
 * Snapshots around Europe/Berlin's DST changes, written with Berlin's offsets (so restic, run in
 * that zone, treats them as local times): hourly around 2021-03-28 and 2021-10-31, each group
 * ending at 12:30 a day after its change, so that two days back crosses it, plus a year of daily
 * snapshots near midnight.
 */
export function dstSnapshots(): FixtureSnapshot[] {
  const list: FixtureSnapshot[] = [];
  const hourly = (host: string, from: number, hours: number) => {
    for (let h = 0; h <= hours; h++) {
      const ms = from + h * 3600_000 + 30 * 60_000;
      list.push({ time: at(ms, berlinOffset(ms)), hostname: host, paths: ['/srv'] });
    }
  };
  hourly('spring', Date.UTC(2021, 2, 26, 0), 24 * 3 + 10);
  hourly('autumn', Date.UTC(2021, 9, 29, 0), 24 * 3 + 11);
  for (let d = 0; d < 370; d++) {
    const ms = Date.UTC(2021, 0, 1, 22, 50) + d * 86_400_000;
    list.push({ time: at(ms, berlinOffset(ms)), hostname: 'daily', paths: ['/home'] });
  }
  return list;
}

/** Creates a repository at `dir` holding the snapshots (password "test-password", cheap KDF). */
export async function createSnapshotRepository(dir: string, snapshots: readonly FixtureSnapshot[]): Promise<void> {
  const repo = await initRepository(new LocalBackend(dir), 'test-password', { kdf: { N: 1024, r: 8, p: 1 } });
  try {
    const tree = await saveTree(repo, encodeTree([makeNode({ name: Buffer.from('file'), type: 'file', mode: 0o644 })]));
    await repo.flush();
    for (const s of snapshots) {
      await saveSnapshot(repo, { time: s.time, tree, paths: s.paths, hostname: s.hostname, username: 'tester', ...(s.tags ? { tags: s.tags } : {}) });
    }
  } finally {
    await repo.close();
  }
}
