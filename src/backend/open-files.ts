// Files kept open between reads: a restore or a check reads each pack in many ranges, and opening
// and closing it around every read costs two more trips through the thread pool, each waiting
// for a turn of a busy main thread. A handle serves only for a short while: a file removed or
// replaced behind the process's back (a server's repository tidied by hand) is seen soon.

import type { FileHandle } from 'node:fs/promises';

interface OpenFile {
  readonly handle: Promise<FileHandle>;
  /** Reads using it now: it is closed only when there are none. */
  users: number;
  /** No longer listed (its file is being removed, or it is too old): the last read using it closes it. */
  retired: boolean;
  readonly openedAt: number;
}

export class OpenFiles {
  /** Least recently used first. */
  private readonly files = new Map<string, OpenFile>();

  constructor(
    private readonly limit: number,
    private readonly maxAgeMs: number,
  ) {}

  /**
   * Runs `use` with a handle of `path`: one kept from an earlier call, or a new one from `open`
   * (whose errors are thrown as they are, and not kept).
   */
  async with<T>(path: string, open: () => Promise<FileHandle>, use: (handle: FileHandle) => Promise<T>): Promise<T> {
    let file = this.files.get(path);
    if (file && performance.now() - file.openedAt > this.maxAgeMs) {
      void this.forget(path);
      file = undefined;
    }
    if (file) this.files.delete(path);
    else file = { handle: open(), users: 0, retired: false, openedAt: performance.now() };
    this.files.set(path, file);
    file.users++;
    try {
      let handle: FileHandle;
      try {
        handle = await file.handle;
      } catch (err) {
        if (this.files.get(path) === file) this.files.delete(path);
        throw err;
      }
      return await use(handle);
    } finally {
      file.users--;
      if (file.retired && file.users === 0) await close(file);
      await this.closeUnused(this.limit);
    }
  }

  /** Closes the handle of a file about to be removed (at once, or after the reads using it). */
  async forget(path: string): Promise<void> {
    const file = this.files.get(path);
    if (!file) return;
    this.files.delete(path);
    if (file.users === 0) await close(file);
    else file.retired = true;
  }

  /** Closes every handle; one a read still uses is closed when that read ends. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.files.keys()].map((path) => this.forget(path)));
  }

  /** Closes the least recently used handles no read is using, down to `keep` open. */
  private async closeUnused(keep: number): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [path, file] of this.files) {
      if (this.files.size <= keep) break;
      if (file.users > 0) continue;
      this.files.delete(path);
      closing.push(close(file));
    }
    await Promise.all(closing);
  }
}

async function close(file: OpenFile): Promise<void> {
  await file.handle.then((h) => h.close()).catch(() => undefined);
}
