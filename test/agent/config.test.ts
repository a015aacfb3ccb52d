// The agent configuration: a full example is read into its typed form, and invalid ones are
// refused with every problem listed at its line, before anything runs.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAgentConfig } from '../../src/agent/config.js';
import { ConfigError } from '../../src/agent/config-reader.js';

function problems(text: string): string[] {
  try {
    parseAgentConfig(text, 'agent.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems.map((p) => `${p.line}: ${p.message}`);
  }
  assert.fail('the configuration was accepted');
}

test('a full configuration is read with defaults, relative paths and aliases', () => {
  const config = parseAgentConfig(
    `state-dir: state
log: /var/log/holdfast-agent.log
plans:
  home:
    repository: rest:https://alice:secret@backup.example.com:8000/alice/
    cacert: ca.pem
    password-command: pass show backup
    sources: [/home/alice, docs]
    exclude: ['*.tmp', /home/alice/.cache]
    iexclude: '*.ISO'
    exclude-caches: true
    exclude-larger-than: 2G
    one-file-system: true
    tags: [laptop]
    schedule: "30 2 * * *"
    random-delay: 15m
    retention: {keep-daily: 7, keep-weekly: 5, keep-within: 2d, keep-tag: [keep]}
    prune: {schedule: '@weekly', max-unused: 5%}
    check: {every: 30d, read-data-subset: 1/10}
    hooks:
      before: [pg_dump app > /var/backups/app.sql]
      after: ./report.sh
      timeout: 5m
    notify: &ops
      - url: https://hooks.example.com/backup
        on: [failure, success]
        headers: {Authorization: Bearer abc}
  etc:
    repository: ../repo
    password-env: ETC_PASSWORD
    sources: /etc
    every: 10s
    run-missed: false
    notify: *ops
`,
    '/srv/agent/agent.yaml',
  );
  assert.equal(config.stateDir, '/srv/agent/state');
  assert.equal(config.log, '/var/log/holdfast-agent.log');
  const [home, etc] = config.plans;
  assert.ok(home && etc);
  assert.deepEqual(home.sources, ['/home/alice', '/srv/agent/docs']);
  assert.equal(home.repository.location, 'rest:https://alice:secret@backup.example.com:8000/alice/');
  assert.equal(home.repository.cacert, '/srv/agent/ca.pem');
  assert.deepEqual(home.repository.password, { kind: 'command', command: 'pass show backup' });
  assert.equal(home.repository.lockWaitMs, 600_000);
  assert.deepEqual(home.excludes.exclude, ['*.tmp', '/home/alice/.cache']);
  assert.deepEqual(home.excludes.iexclude, ['*.ISO']);
  assert.equal(home.excludes.excludeLargerThan, '2G');
  assert.equal(home.backup?.schedule.text, '30 2 * * *');
  assert.equal(home.backup?.randomDelayMs, 900_000);
  assert.equal(home.runMissed, true);
  assert.equal(home.retention?.policy.daily, 7);
  assert.deepEqual(home.retention?.policy.within, { years: 0, months: 0, days: 2, hours: 0 });
  assert.deepEqual(home.retention?.policy.tags, [['keep']]);
  assert.deepEqual(home.retention?.groupBy, { host: true, paths: true, tags: false });
  assert.equal(home.prune?.timing?.schedule.text, '@weekly');
  assert.deepEqual(home.prune?.options.maxUnused, { kind: 'percent', percent: 5 });
  assert.deepEqual(home.check?.readData, { kind: 'group', n: 1, of: 10 });
  assert.equal(home.check?.timing?.schedule.text, 'every 30d');
  assert.deepEqual(home.hooks, { before: ['pg_dump app > /var/backups/app.sql'], after: ['./report.sh'], timeoutMs: 300_000, workDir: '/srv/agent' });
  assert.deepEqual([...home.notify[0]!.on].sort(), ['failure', 'success']);
  assert.equal(home.notify[0]!.timeoutMs, 10_000);
  assert.deepEqual(home.notify[0]!.headers, { Authorization: 'Bearer abc' });
  assert.equal(etc.repository.location, '/srv/repo');
  assert.deepEqual(etc.repository.password, { kind: 'env', name: 'ETC_PASSWORD' });
  assert.equal(etc.backup?.schedule.text, 'every 10s');
  assert.equal(etc.runMissed, false);
  assert.equal(etc.notify[0]!.url, 'https://hooks.example.com/backup', 'an alias stands for the whole list');
  assert.equal(etc.retention, undefined);
  assert.equal(etc.hooks.before.length, 0);
});

test('every problem is reported at its line, sorted', () => {
  const found = problems(`plans:
  home:
    repository: /srv/repo
    password-file: /etc/pw
    sources: [/home]
    schedule: "61 * * * *"
    retention:
      keep-daily: seven
      keep-weekly: -2
      keep-within: 3x
    check: {read-data-subset: 200%}
    prune: {max-unused: 100%}
    notify:
      - url: ftp://example.com
        on: [always]
    exclude-larger-than: huge
    colour: blue
  bad/name:
    repository: /srv/repo
    sources: [/etc]
    every: 500ms
`);
  assert.deepEqual(found, [
    '6: schedule "61 * * * *": minute 61 out of range (0-59)',
    '8: keep-daily: expected a whole number',
    '9: keep-weekly: -2 is not a count (use -1 to keep all)',
    '10: keep-within: invalid duration "3x": invalid unit \'x\' found after number 3',
    '11: read-data-subset "200%": the percentage must be in (0, 100]',
    '12: percentage for max-unused must be below 100%',
    '14: url "ftp://example.com": expected an http:// or https:// URL',
    '15: on: "always" is neither success nor failure',
    '16: exclude-larger-than: invalid size "huge": expected a number with an optional k, M, G or T suffix',
    '17: plan "home": unknown key "colour"',
    '18: plan "bad/name": a name has letters, digits, \'.\', \'_\' and \'-\' only',
    '18: plan "bad/name": no password source: give password-file, password-command or password-env',
    '21: every "500ms": interval "500ms" must be a whole number of seconds, at least 1s',
  ]);
});

test('missing and conflicting keys', () => {
  assert.deepEqual(
    problems(`plans:
  a:
    password-file: pw
    password-env: PW
    schedule: '@daily'
    every: 1h
  b:
    repository: r
    password-file: pw
    sources: []
    retention: {group-by: host}
    check: {read-data: true, read-data-subset: 10%}
`),
    [
      '2: plan "a": give only one of password-file, password-command and password-env',
      '2: plan "a": repository is missing (a path or a rest: URL)',
      '2: plan "a": sources is missing (the paths to back up)',
      '6: plan "a": give either schedule or every, not both',
      '10: sources: the list is empty',
      '11: retention: no keep-* rule given, so it would keep everything; remove the section or add a rule',
      '12: check: give either read-data or read-data-subset, not both',
    ],
  );
  assert.deepEqual(problems(''), ['1: the configuration is empty: it needs at least a plans section']);
  assert.deepEqual(problems('log: x\n'), ['1: plans is missing: name at least one plan']);
  assert.deepEqual(problems('plans: {}\n'), ['1: plans: no plan is defined']);
  assert.deepEqual(problems('plans:\n  a: [1]\n'), ['2: plan "a": expected a mapping of keys to values']);
});

test('YAML syntax errors and duplicate keys name their line', () => {
  const found = problems(`plans:
  a:
    repository: r
    repository: s
    sources: [/x
`);
  assert.ok(found.some((p) => p.startsWith('4: Map keys must be unique')), found.join('\n'));
  assert.ok(found.some((p) => /^[56]: /.test(p) && p.includes(']')), found.join('\n'));
});

test('the message lists every problem as file:line: text', () => {
  assert.throws(
    () => parseAgentConfig('plans:\n  a:\n    schedule: "61 * * * *"\n', 'config.yaml'),
    (err: Error) => {
      const lines = err.message.split('\n');
      assert.equal(lines[0], 'config.yaml: 4 problems in the configuration:');
      assert.ok(lines.includes('config.yaml:3: schedule "61 * * * *": minute 61 out of range (0-59)'), err.message);
      return true;
    },
  );
});
