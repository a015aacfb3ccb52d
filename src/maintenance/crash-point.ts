// Test hook, and nothing else: HOLDFAST_TEST_CRASH_AT=<point> makes the process kill itself with
// SIGKILL (no cleanup, no lock release) when a prune reaches that point, so tests can check the
// repository in every intermediate state. Unset, as it always is outside tests, it does nothing.

export type CrashPoint =
  | 'after-unreferenced-deleted'
  | 'during-repack'
  | 'after-repack'
  | 'after-new-index'
  | 'during-index-delete'
  | 'after-index-delete'
  | 'during-pack-delete';

const target = process.env.HOLDFAST_TEST_CRASH_AT;

export function crashPoint(point: CrashPoint): void {
  if (target === point) process.kill(process.pid, 'SIGKILL');
}
