// The agent end to end: scheduled runs on a seconds schedule with retention, hooks, webhooks and
// status; a missed run at start-up; a failing plan; runs by hand through the daemon; a clean stop.

import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { StatusStore } from '../../src/agent/status-store.js';
import { holdfast, ok } from '../helpers/cli.js';
import { agentFixture, agentStatus, waitFor } from './harness.js';

const WRONG = 'not-the-password-4711';

test('the agent runs plans on schedule, applies retention, runs hooks and webhooks, reports status, takes runs by hand, stops cleanly', { timeout: 300_000 }, async (t) => {
  const f = await agentFixture(t);
  await f.writeConfig(`state-dir: state
plans:
  docs:
    repository: repo
    password-env: HOLDFAST_PASSWORD
    sources: [src]
    schedule: "* * * * * *"
    retention: {keep-last: 2}
    hooks:
      before: ['printenv | grep -e ^HOLDFAST_ -e PASSWORD | sort > "$OUT/before-$HOLDFAST_TRIGGER.env"']
      after: ['printenv | grep -e ^HOLDFAST_ -e PASSWORD | sort > "$OUT/after-$HOLDFAST_TRIGGER.env"']
    notify:
      - url: ${f.receiver}/docs
        on: [success, failure]
  yearly:
    repository: repo
    password-env: HOLDFAST_PASSWORD
    sources: [src/sub]
    schedule: "@yearly"
    notify:
      - url: ${f.receiver}/yearly
        on: [success]
  locked-out:
    repository: repo
    password-env: WRONG_PASSWORD
    sources: [src]
    every: 2s
    notify:
      - url: ${f.receiver}/failures
        timeout: 5s
`);
  // The yearly plan last ran two years ago as far as the status file knows: one missed run is due.
  const store = await StatusStore.open(join(f.dir, 'state'));
  const longAgo = new Date(Date.now() - 2 * 366 * 86_400_000).toISOString();
  await store.update('yearly', 'backup', (s) => {
    s.handled_through = longAgo;
  });

  const agent = f.start({ OUT: f.dir, WRONG_PASSWORD: WRONG });
  const scheduled = () => f.webhooks.filter((w) => w.path === '/docs' && w.body.result === 'success' && w.body.trigger === 'schedule');
  await waitFor('three scheduled backups of docs', () => scheduled().length >= 3);
  const failure = await waitFor('a failure notification', () => f.webhooks.find((w) => w.path === '/failures'));
  const missed = await waitFor('the missed yearly run', () => f.webhooks.find((w) => w.path === '/yearly'));

  // Webhook bodies: the run record, no password anywhere.
  const body = scheduled()[0]!.body;
  assert.equal(body.plan, 'docs');
  assert.equal(body.job, 'backup');
  assert.match(String(body.snapshot_id), /^[0-9a-f]{64}$/);
  assert.equal(body.error, null);
  assert.ok(Date.parse(String(body.finished)) >= Date.parse(String(body.started)));
  assert.equal(typeof body.duration_seconds, 'number');
  assert.equal((body.summary as Record<string, number>).total_files_processed, 2);
  assert.equal(typeof body.host, 'string');
  assert.equal(failure.body.plan, 'locked-out');
  assert.equal(failure.body.result, 'failure');
  assert.match(String(failure.body.error), /wrong password/);
  assert.equal(failure.body.snapshot_id, null);
  assert.equal(missed.body.trigger, 'missed');
  assert.equal(missed.body.result, 'success');
  for (const w of f.webhooks) {
    assert.ok(!w.raw.includes(WRONG) && !w.raw.includes('test-password'), `a webhook body carries a password: ${w.raw}`);
  }
  assert.equal(f.webhooks.filter((w) => w.path === '/yearly').length, 1, 'the missed slots made one run');

  // Hooks saw the run in HOLDFAST_* variables, and never a password.
  const before = await readFile(join(f.dir, 'before-schedule.env'), 'utf8');
  const after = await readFile(join(f.dir, 'after-schedule.env'), 'utf8');
  assert.match(before, /^HOLDFAST_PLAN=docs$/m);
  assert.match(before, /^HOLDFAST_JOB=backup$/m);
  assert.doesNotMatch(before, /HOLDFAST_RESULT=/);
  assert.match(after, /^HOLDFAST_RESULT=success$/m);
  assert.match(after, /^HOLDFAST_SNAPSHOT_ID=[0-9a-f]{64}$/m);
  assert.match(after, /^HOLDFAST_TOTAL_FILES_PROCESSED=2$/m);
  assert.match(after, /^HOLDFAST_ERROR=$/m);
  assert.match(after, new RegExp(`^HOLDFAST_REPOSITORY=${f.repo}$`, 'm'));
  // Not this plan's password variable, nor the other plans' (WRONG_PASSWORD).
  assert.doesNotMatch(before + after, /PASSWORD/);

  // Status while the agent runs.
  const status = await agentStatus(f);
  assert.equal(status.agent.running, true);
  const job = (plan: string) => status.jobs.find((j) => j.plan === plan && j.job === 'backup')!;
  assert.equal(job('docs').schedule, '* * * * * *');
  assert.ok(job('docs').next_run !== null);
  assert.ok(job('docs').last_success !== null);
  assert.equal(job('locked-out').last?.result, 'failure');
  assert.match(String(job('locked-out').last?.error), /wrong password/);
  assert.equal(job('locked-out').last_success, null);
  assert.equal(new Date(job('yearly').next_run!).getMonth(), 0, 'the yearly plan runs next on January 1st');
  const text = await ok(holdfast(['agent', 'status', '--config', f.config]));
  assert.match(text.stdout, /^agent running \(pid \d+/);
  assert.match(text.stdout, /locked-out backup: wrong password/);

  // A run by hand goes through the daemon and reports its result (a scheduled run of the same
  // job already waiting for its turn is joined rather than doubled).
  const manual = await holdfast(['agent', 'run', 'docs', '--config', f.config]);
  assert.equal(manual.code, 0, manual.stderr);
  assert.match(manual.stdout, /has the request/);
  const saved = /^docs backup: success in .*, snapshot ([0-9a-f]{8}) saved$/m.exec(manual.stdout)?.[1];
  assert.ok(saved, manual.stdout);
  await waitFor('the manual run notification', () => f.webhooks.find((w) => w.path === '/docs' && String(w.body.snapshot_id).startsWith(saved)));
  const refused = await holdfast(['agent', 'run', 'locked-out', '--config', f.config]);
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, /locked-out backup: failure after .*wrong password/);

  // SIGTERM: the agent stops, its locks and pid file are gone.
  assert.equal(await agent.stop(), 0, agent.output());
  assert.match(agent.output(), /agent stopped/);
  assert.deepEqual(await readdir(join(f.repo, 'locks')), []);
  assert.ok(!(await readdir(join(f.dir, 'state'))).includes('agent.pid'));
  const successes = f.webhooks.filter((w) => w.path === '/docs' && w.body.result === 'success').length;
  const snapshots = JSON.parse((await ok(holdfast(['-r', f.repo, 'snapshots', '--json', '--tag', 'plan:docs']))).stdout) as unknown[];
  // keep-last 2, plus at most one saved by a run the stop cut off before its retention step.
  assert.ok(successes >= 4 && snapshots.length <= 3, `${successes} backups left ${snapshots.length} snapshots`);
  assert.equal((await agentStatus(f)).agent.running, false);
});

test('agent run without a daemon runs the plan here: retention and prune, check, a failing plan and its notification', { timeout: 300_000 }, async (t) => {
  const f = await agentFixture(t);
  await f.writeConfig(`state-dir: state
plans:
  docs:
    repository: repo
    password-env: HOLDFAST_PASSWORD
    sources: [src]
    schedule: "0 0 1 1 *"
    retention: {keep-last: 2}
    prune: {after-retention: true, max-unused: 0%}
    check: {read-data-subset: 100%}
  missing:
    repository: repo
    password-env: HOLDFAST_PASSWORD
    sources: [does-not-exist]
    notify:
      - url: ${f.receiver}/missing
`);
  const run = (...args: string[]) => holdfast(['agent', 'run', ...args, '--config', f.config]);
  for (let i = 1; i <= 3; i++) {
    const r = await run('docs');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^docs backup: success/m);
    if (i === 3) assert.match(r.stderr, /retention removed 1 snapshot\(s\), kept 2\n.*prune removed \d+ pack\(s\)/);
  }
  const snapshots = JSON.parse((await ok(holdfast(['-r', f.repo, 'snapshots', '--json']))).stdout) as Array<{ tags: string[] }>;
  assert.equal(snapshots.length, 2);
  assert.ok(snapshots.every((s) => s.tags.includes('plan:docs')));

  const check = await run('docs', '--job', 'check', '--json');
  assert.equal(check.code, 0, check.stderr);
  const checked = JSON.parse(check.stdout) as { result: string; summary: Record<string, number> };
  assert.equal(checked.result, 'success');
  assert.ok(checked.summary.packs_read! > 0);

  const bad = await run('missing');
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^missing backup: failure after .*does-not-exist does not exist/m);
  const note = await waitFor('the failure notification', () => f.webhooks.find((w) => w.path === '/missing'));
  assert.equal(note.body.result, 'failure');
  assert.match(String(note.body.error), /does not exist/);

  const status = await agentStatus(f);
  assert.equal(status.agent.running, false);
  const docs = status.jobs.find((j) => j.plan === 'docs' && j.job === 'backup')!;
  assert.equal(docs.last?.result, 'success');
  assert.equal(docs.last?.trigger, 'manual');
  assert.equal(new Date(docs.next_run!).getMonth(), 0);
  assert.equal(status.jobs.find((j) => j.plan === 'docs' && j.job === 'check')?.last?.result, 'success');
  const missing = status.jobs.find((j) => j.plan === 'missing')!;
  assert.equal(missing.schedule, null);
  assert.equal(missing.next_run, null);
  assert.equal(missing.last?.result, 'failure');
  assert.match(String(missing.last?.error), /does not exist/);
  assert.equal((await run('nope')).code, 1);
});

test('an invalid configuration is refused with every problem at its line, before anything runs', { timeout: 120_000 }, async (t) => {
  const f = await agentFixture(t);
  await f.writeConfig(`state-dir: state
plans:
  docs:
    repository: repo
    password-env: HOLDFAST_PASSWORD
    schedule: "61 * * * *"
    sources: [src]
    retention:
      keep-daily: seven
`);
  for (const args of [['agent'], ['agent', 'validate'], ['agent', 'status'], ['agent', 'run', 'docs']]) {
    const r = await holdfast([...args, '--config', f.config]);
    assert.equal(r.code, 1, args.join(' '));
    assert.ok(r.stderr.includes(`${f.config}:6: schedule "61 * * * *": minute 61 out of range (0-59)\n`), r.stderr);
    assert.ok(r.stderr.includes(`${f.config}:9: keep-daily: expected a whole number\n`), r.stderr);
  }
  assert.ok(!(await readdir(f.dir)).includes('state'), 'nothing ran');
  await f.writeConfig(`plans:\n  docs:\n    repository: repo\n    password-env: HOLDFAST_PASSWORD\n    sources: [src]\n`);
  const valid = await holdfast(['agent', 'validate', '--config', f.config]);
  assert.equal(valid.code, 0, valid.stderr);
  assert.match(valid.stdout, /1 plan\(s\), no problems/);
});
