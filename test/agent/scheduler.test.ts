// The scheduler with an injectable clock: slots, random delays, runs missed while the agent was
// stopped (from the persisted time) or while the machine slept (the wall clock jumped), clock steps back.

process.env.TZ = 'UTC';

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CronSchedule } from '../../src/agent/cron.js';
import { type Firing, type ScheduledJob, Scheduler } from '../../src/agent/scheduler.js';
import { FakeClock, settle } from './fake-clock.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const at = (iso: string) => Date.parse(iso);

function job(schedule: string, extra: Partial<ScheduledJob> = {}): ScheduledJob {
  return { id: 'p/backup', schedule: CronSchedule.parse(schedule), randomDelayMs: 0, runMissed: true, handledThrough: undefined, ...extra };
}

function start(t: import('node:test').TestContext, jobs: ScheduledJob[], clock: FakeClock, random?: () => number) {
  const fired: Firing[] = [];
  const clockBack: number[] = [];
  const scheduler = new Scheduler(jobs, { clock, fire: (f) => fired.push(f), onClockBack: (ms) => clockBack.push(ms), ...(random ? { random } : {}) });
  const stop = new AbortController();
  const done = scheduler.run(stop.signal);
  t.after(async () => {
    stop.abort();
    await done;
  });
  return { scheduler, fired, clockBack };
}

const iso = (ms: number) => new Date(ms).toISOString();

test('a job fires at its slots and not before', async (t) => {
  const clock = new FakeClock(at('2024-05-01T10:20:00Z'));
  const { scheduler, fired } = start(t, [job('0 * * * *')], clock);
  await settle();
  assert.equal(fired.length, 0, 'nothing is due at start without history');
  assert.equal(iso(scheduler.nextRun('p/backup')!), '2024-05-01T11:00:00.000Z');
  await clock.advance(39 * MIN);
  assert.equal(fired.length, 0);
  await clock.advance(2 * MIN);
  assert.deepEqual(fired.map((f) => [iso(f.slot), f.reason]), [['2024-05-01T11:00:00.000Z', 'schedule']]);
  await clock.advance(2 * HOUR);
  assert.deepEqual(fired.map((f) => iso(f.slot)), ['2024-05-01T11:00:00.000Z', '2024-05-01T12:00:00.000Z', '2024-05-01T13:00:00.000Z']);
  assert.ok(fired.every((f) => f.reason === 'schedule'));
});

test('slots missed while the agent was stopped run once at start-up', async (t) => {
  const clock = new FakeClock(at('2024-05-02T10:20:00Z'));
  // The last run was a day ago: 24 hourly slots went by.
  const { scheduler, fired } = start(t, [job('0 * * * *', { handledThrough: at('2024-05-01T09:00:05Z') })], clock);
  await settle();
  assert.deepEqual(fired.map((f) => [iso(f.slot), f.reason, iso(f.firedAt)]), [['2024-05-01T10:00:00.000Z', 'missed', '2024-05-02T10:20:00.000Z']]);
  assert.equal(iso(scheduler.nextRun('p/backup')!), '2024-05-02T11:00:00.000Z', 'then the schedule goes on from now');
  await clock.advance(30 * MIN);
  assert.equal(fired.length, 1);
});

test('no missed run when the last one covers every slot, or when missed runs are off', async (t) => {
  const clock = new FakeClock(at('2024-05-02T10:20:00Z'));
  const recent = job('0 * * * *', { id: 'recent', handledThrough: at('2024-05-02T10:00:02Z') });
  const off = job('0 * * * *', { id: 'off', handledThrough: at('2024-05-01T00:00:00Z'), runMissed: false });
  const { fired } = start(t, [recent, off], clock);
  await clock.advance(45 * MIN);
  assert.deepEqual(fired.map((f) => [f.id, iso(f.slot), f.reason]), [
    ['recent', '2024-05-02T11:00:00.000Z', 'schedule'],
    ['off', '2024-05-02T11:00:00.000Z', 'schedule'],
  ]);
});

test('a slot passed while the machine slept fires once at wake-up, marked missed', async (t) => {
  const clock = new FakeClock(at('2024-05-01T02:58:00Z'));
  const { scheduler, fired } = start(t, [job('0 3 * * *')], clock);
  await clock.advance(30_000);
  // Suspended for five hours: no time elapses for timers, the wall clock moves on.
  clock.jump(5 * HOUR);
  await settle();
  assert.equal(fired.length, 0, 'nothing happens until a timer fires after wake-up');
  await clock.advance(60_000);
  assert.equal(fired.length, 1);
  assert.equal(fired[0]!.reason, 'missed');
  assert.equal(iso(fired[0]!.slot), '2024-05-01T03:00:00.000Z');
  assert.equal(iso(scheduler.nextRun('p/backup')!), '2024-05-02T03:00:00.000Z');
  // Several slots missed in one sleep still make one run.
  const hourly = new FakeClock(at('2024-05-01T10:59:00Z'));
  const second = start(t, [job('0 * * * *', { id: 'hourly' })], hourly);
  await hourly.advance(10_000);
  hourly.jump(7 * HOUR + 20 * MIN);
  await hourly.advance(60_000);
  assert.deepEqual(second.fired.map((f) => [iso(f.slot), f.reason]), [['2024-05-01T11:00:00.000Z', 'missed']]);
  assert.equal(iso(second.scheduler.nextRun('hourly')!), '2024-05-01T19:00:00.000Z');
});

test('a random delay moves the run into the window after its slot', async (t) => {
  const clock = new FakeClock(at('2024-05-01T10:20:00Z'));
  const { scheduler, fired } = start(t, [job('0 * * * *', { randomDelayMs: 10 * MIN })], clock, () => 0.5);
  assert.equal(iso(scheduler.nextRun('p/backup')!), '2024-05-01T11:05:00.000Z');
  await clock.advance(44 * MIN);
  assert.equal(fired.length, 0);
  await clock.advance(2 * MIN);
  assert.deepEqual(fired.map((f) => [iso(f.slot), iso(f.firedAt), f.reason]), [['2024-05-01T11:00:00.000Z', '2024-05-01T11:05:00.000Z', 'schedule']]);
});

test('a wall clock set back plans the slots again from the new time', async (t) => {
  const clock = new FakeClock(at('2024-05-02T10:20:00Z'));
  const { scheduler, fired, clockBack } = start(t, [job('0 * * * *')], clock);
  await settle();
  clock.jump(-24 * HOUR);
  await clock.advance(60_000);
  assert.equal(clockBack.length, 1);
  assert.equal(iso(scheduler.nextRun('p/backup')!), '2024-05-01T11:00:00.000Z');
  await clock.advance(40 * MIN);
  assert.deepEqual(fired.map((f) => [iso(f.slot), f.reason]), [['2024-05-01T11:00:00.000Z', 'schedule']]);
});
