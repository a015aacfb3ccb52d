// The open-file log: which files under the backed-up paths other processes held open for writing
// while the backup ran, found by scanning /proc, so a report can flag copies that may be torn.

import { readdir, readFile, readlink, realpath, stat } from 'node:fs/promises';
import { pathBytes } from './paths.js';

const O_ACCMODE = 0o3;
const O_WRONLY = 0o1;
const O_RDWR = 0o2;
const SLASH = 0x2f;
/** Processes scanned at once: bounds the open /proc handles and the burst of work. */
const PROCESS_BATCH = 16;

export interface OpenFileMonitorOptions {
  /** Time between scans; the default is 5 s. */
  intervalMs?: number;
}

export interface OpenFileScanStats {
  scans: number;
  /** Processes whose descriptors we may not read (other users' processes, unless we are root). */
  inaccessibleProcesses: number;
}

/**
 * Scans the open file descriptors of every other process (/proc/PID/fd, with the access mode
 * from /proc/PID/fdinfo) for files under the given paths opened write-only or read-write, and
 * remembers them by (device, inode) for the whole run.
 *
 * Limits: reading other users' processes needs root (they are counted, not seen); a writer that
 * opens and closes a file between two scans is missed; memory-mapped writes without an open
 * descriptor are not seen. It is a hint for the report, not a guarantee.
 */
export class OpenFileMonitor {
  private readonly roots: Buffer[];
  private resolvedRoots: Buffer[] | undefined;
  private readonly intervalMs: number;
  private readonly written = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  readonly stats: OpenFileScanStats = { scans: 0, inaccessibleProcesses: 0 };

  constructor(roots: ReadonlyArray<string | Buffer>, options: OpenFileMonitorOptions = {}) {
    this.roots = roots.map(pathBytes);
    this.intervalMs = options.intervalMs ?? 5000;
  }

  /** Scans once, then again every interval in the background until stop(). */
  async start(): Promise<void> {
    // Descriptor links name the real path, so compare with the roots' real paths.
    this.resolvedRoots = await Promise.all(this.roots.map(async (r) => realpath(r, { encoding: 'buffer' }).catch(() => r)));
    await this.scanOnce();
    this.timer = setInterval(() => {
      // A scan that takes longer than the interval is not stacked with another one.
      if (this.scanning === undefined) void this.scanOnce();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the background scans and makes a last one, for writers still open at the end. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.scanning;
    await this.scanOnce();
  }

  /** Whether the file (lstat's dev and ino) was seen open for writing by another process. */
  wasOpenForWrite(dev: bigint, ino: bigint): boolean {
    return this.written.has(dev + ':' + ino);
  }

  private underRoots(target: Buffer): boolean {
    for (const root of this.resolvedRoots ?? this.roots) {
      if (root.length === 1 && root[0] === SLASH) return target[0] === SLASH;
      if (target.length >= root.length && target.compare(root, 0, root.length, 0, root.length) === 0) {
        if (target.length === root.length || target[root.length] === SLASH) return true;
      }
    }
    return false;
  }

  private scanOnce(): Promise<void> {
    const scan = this.scan().finally(() => {
      this.scanning = undefined;
    });
    this.scanning = scan;
    return scan;
  }

  private async scan(): Promise<void> {
    const self = String(process.pid);
    const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name) && name !== self);
    let inaccessible = 0;
    for (let i = 0; i < pids.length; i += PROCESS_BATCH) {
      const results = await Promise.all(pids.slice(i, i + PROCESS_BATCH).map((pid) => this.scanProcess(pid)));
      inaccessible += results.filter((ok) => !ok).length;
    }
    this.stats.scans++;
    this.stats.inaccessibleProcesses = inaccessible;
  }

  /** false when the process's descriptors cannot be read (not ours, and we are not root). */
  private async scanProcess(pid: string): Promise<boolean> {
    const fdDir = `/proc/${pid}/fd`;
    let fds: string[];
    try {
      fds = await readdir(fdDir);
    } catch (err) {
      // A process that exited meanwhile is no loss; one we may not read is counted.
      return (err as NodeJS.ErrnoException).code !== 'EACCES';
    }
    await Promise.all(fds.map((fd) => this.scanDescriptor(pid, fd)));
    return true;
  }

  private async scanDescriptor(pid: string, fd: string): Promise<void> {
    const link = `/proc/${pid}/fd/${fd}`;
    try {
      // Cheapest test first: most descriptors are pipes, sockets or files elsewhere.
      const target = await readlink(link, { encoding: 'buffer' });
      if (!this.underRoots(target)) return;
      const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'latin1');
      const flags = /^flags:\s*([0-7]+)/m.exec(info);
      if (flags === null) return;
      const access = parseInt(flags[1]!, 8) & O_ACCMODE;
      if (access !== O_WRONLY && access !== O_RDWR) return;
      const st = await stat(link, { bigint: true });
      this.written.add(st.dev + ':' + st.ino);
    } catch {
      // The descriptor was closed or the process exited between the calls: nothing to record.
    }
  }
}
