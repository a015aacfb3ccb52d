// The full example in docs/agent.md must stay a valid configuration: it is read as the agent
// reads it, so the documentation cannot drift from what the agent accepts.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAgentConfig } from '../../src/agent/config.js';

const fromSources = import.meta.url.endsWith('.ts');
const docsFile = fileURLToPath(new URL(fromSources ? '../../docs/agent.md' : '../../../docs/agent.md', import.meta.url));

test('the example in docs/agent.md is a valid configuration', async () => {
  const doc = await readFile(docsFile, 'utf8');
  const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(example, 'docs/agent.md has a yaml example');
  const config = parseAgentConfig(example, '/etc/holdfast/agent.yaml');
  assert.deepEqual(
    config.plans.map((p) => p.name),
    ['home', 'photos'],
  );
  assert.equal(config.plans[1]!.notify[0]!.url, 'https://hooks.example.com/holdfast');
});
