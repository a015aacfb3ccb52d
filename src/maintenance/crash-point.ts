// Test hook only: HOLDFAST_TEST_CRASH_AT=<point> makes prune SIGKILL itself (no cleanup, no lock
// release) at that point, so tests see every intermediate state. Unset, as outside tests, it does nothing.

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
