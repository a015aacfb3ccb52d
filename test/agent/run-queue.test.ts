// The per-repository queue: one run at a time per repository, repositories side by side, a
// waiting job joined instead of doubled, nothing started after close; and secrets kept out of text.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { repositoryKey } from '../../src/agent/plan-repository.js';
import { RunQueue } from '../../src/agent/run-queue.js';
import { displayLocation, Secrets } from '../../src/agent/secrets.js';

test('runs of one repository take turns, runs of two repositories overlap', async () => {
  const queue = new RunQueue();
  const active = new Map<string, number>();
  const most = new Map<string, number>();
  const order: string[] = [];
  const task = (key: string, name: string) => async () => {
    active.set(key, (active.get(key) ?? 0) + 1);
    most.set(key, Math.max(most.get(key) ?? 0, active.get(key)!));
    order.push(`start ${name}`);
    await delay(20);
    order.push(`end ${name}`);
    active.set(key, active.get(key)! - 1);
    return name;
  };
  const results = [
    queue.submit('/repo/a', 'a1', task('/repo/a', 'a1')).result,
    queue.submit('/repo/a', 'a2', task('/repo/a', 'a2')).result,
    queue.submit('/repo/b', 'b1', task('/repo/b', 'b1')).result,
    queue.submit('/repo/a', 'a3', task('/repo/a', 'a3')).result,
  ];
  assert.deepEqual(await Promise.all(results), ['a1', 'a2', 'b1', 'a3']);
  assert.equal(most.get('/repo/a'), 1);
  assert.ok(order.indexOf('start b1') < order.indexOf('end a1'), 'the other repository did not wait');
  assert.deepEqual(
    order.filter((e) => /a\d$/.test(e)),
    ['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3'],
  );
  await queue.idle();
});

test('a job waiting for its turn is joined, a failing run does not block the next, close starts nothing more', async () => {
  const queue = new RunQueue();
  let runs = 0;
  const first = queue.submit('r', 'p/backup', async () => {
    await delay(20);
    throw new Error('boom');
  });
  const waiting = queue.submit('r', 'p/check', async () => ++runs);
  const again = queue.submit('r', 'p/check', async () => ++runs);
  assert.equal(waiting.joined, false);
  assert.equal(again.joined, true);
  await assert.rejects(first.result, /boom/);
  assert.equal(await waiting.result, 1);
  assert.equal(await again.result, 1, 'the second submission got the first one\'s result');
  assert.equal(runs, 1);
  let started!: () => void;
  const going = new Promise<void>((resolve) => (started = resolve));
  const busy = queue.submit('r', 'p/backup', async () => {
    started();
    await delay(20);
    return 'done';
  });
  const late = queue.submit('r', 'p/prune', async () => 'ran');
  await going;
  queue.close();
  assert.equal(await busy.result, 'done', 'a run already going ends normally');
  await assert.rejects(late.result, /stopped before this run started/);
  await queue.idle();
});

test('secrets, URL user-info and REST secrets are kept out of messages; one key per repository', () => {
  const secrets = new Secrets();
  secrets.add('hunter2-long');
  assert.equal(secrets.redact('open failed for hunter2-long at https://bob:pw@host/x'), 'open failed for *** at https://***@host/x');
  assert.equal(displayLocation('rest:https://bob:s3cret@host:8000/bob/'), 'rest:https://bob:***@host:8000/bob/');
  assert.equal(displayLocation('/srv/repo'), '/srv/repo');
  assert.equal(repositoryKey('rest:https://bob:s3cret@host:8000/bob'), repositoryKey('rest:https://bob:other@HOST:8000/bob/'));
  assert.equal(repositoryKey('local:/srv/repo/'), repositoryKey('/srv/repo'));
});
