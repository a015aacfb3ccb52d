// Test support for real peers (restic, qemu-img, nbdinfo, mkfs...): find a tool or decide what a
// missing one means. In CI (CI=true) a missing tool fails the test; elsewhere the test is skipped.

import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

const found = new Map<string, boolean>();

export function hasTool(name: string): boolean {
  let ok = found.get(name);
  if (ok === undefined) {
    try {
      execFileSync('sh', ['-c', `command -v "$1"`, 'sh', name], { stdio: 'ignore' });
      ok = true;
    } catch {
      ok = false;
    }
    found.set(name, ok);
  }
  return ok;
}

export const inCI = process.env.CI === 'true';

/**
 * Returns true when every tool is present. Otherwise fails the test in CI, or skips it locally,
 * and returns false so the caller can return early.
 */
export function requireTools(t: TestContext, ...names: string[]): boolean {
  const missing = names.filter((n) => !hasTool(n));
  if (missing.length === 0) return true;
  const message = `missing tool(s): ${missing.join(', ')}`;
  if (inCI) throw new Error(`${message} (CI requires every tool the tests use)`);
  t.skip(message);
  return false;
}

/** True when running as root (loop mounts, chown, device nodes). */
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export function requireRoot(t: TestContext): boolean {
  if (isRoot) return true;
  if (inCI) throw new Error('this test needs root (CI runs as root)');
  t.skip('needs root');
  return false;
}
