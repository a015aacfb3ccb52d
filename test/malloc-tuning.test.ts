// The allocator tuning: with it, memory freed by buffers of blob size goes back to the system
// even after a bigger buffer was freed; left to glibc's defaults, it stays with the process.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test, { type TestContext } from 'node:test';
import { nativeAddonPath } from '../src/malloc-tuning.js';
import { inCI } from './helpers/tools.js';

const fromSources = import.meta.url.endsWith('.ts');
const probe = fileURLToPath(new URL(fromSources ? './malloc-probe.ts' : './malloc-probe.js', import.meta.url));

interface Probe {
  tuned: boolean;
  grewMiB: number;
  keptMiB: number;
}

function runProbe(mode: 'tuned' | 'defaults', env: Record<string, string> = {}): Probe {
  const out = execFileSync(process.execPath, [...(fromSources ? ['--import', 'tsx'] : []), probe, mode], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out) as Probe;
}

function requireAddon(t: TestContext): boolean {
  if (existsSync(nativeAddonPath())) return true;
  const message = 'the native addon is not built (npm install builds it)';
  if (inCI) throw new Error(`${message}; CI requires it`);
  t.skip(message);
  return false;
}

const onGlibc = process.platform === 'linux' && Boolean((process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);

test('with the tuning, 24 MiB of freed 1 MiB buffers go back to the system after a 16 MiB one was freed', { skip: !onGlibc && 'glibc only' }, (t) => {
  if (!requireAddon(t)) return;
  const tuned = runProbe('tuned');
  assert.equal(tuned.tuned, true);
  assert.ok(tuned.grewMiB >= 20, JSON.stringify(tuned));
  assert.ok(tuned.keptMiB < 4, JSON.stringify(tuned));
});

test("with glibc's defaults the same 24 MiB stay with the process (what the tuning is for)", { skip: !onGlibc && 'glibc only' }, () => {
  const defaults = runProbe('defaults');
  assert.equal(defaults.tuned, false);
  assert.ok(defaults.keptMiB > 16, JSON.stringify(defaults));
});

test('allocator settings given in the environment are left alone', { skip: !onGlibc && 'glibc only' }, (t) => {
  if (!requireAddon(t)) return;
  assert.equal(runProbe('tuned', { GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=4194304' }).tuned, false);
  assert.equal(runProbe('tuned', { MALLOC_MMAP_THRESHOLD_: '262144' }).tuned, false);
});
