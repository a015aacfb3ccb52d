// Whether a process of this host still exists: decides when a lock or a temp file was left
// behind by a run that is gone.

export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
