// System calls Node lacks (mkfifo, mknod, utimensat in ns, setxattr on byte paths), run by one python3
// process fed requests through a pipe; without python3, coreutils for nodes and Node's microseconds.

import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { rename } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * One request per line, paths and values hex-encoded so any bytes pass; one answer line per
 * request in the same order: `ok`, or `err <errno> <message>`.
 */
const script = `
import os, sys
out = sys.stdout
h = bytes.fromhex
for line in sys.stdin.buffer:
    f = line.rstrip(b'\\n').decode().split('\\t')
    op = f[0]
    try:
        if op == 'utime': os.utime(h(f[1]), ns=(int(f[2]), int(f[3])), follow_symlinks=False)
        elif op == 'mkfifo': os.mkfifo(h(f[1]), int(f[2]))
        elif op == 'mknod': os.mknod(h(f[1]), int(f[2]), int(f[3]))
        elif op == 'setxattr': os.setxattr(h(f[1]), h(f[2]), h(f[3]), follow_symlinks=False)
        out.write('ok\\n')
    except OSError as e:
        out.write('err\\t%d\\t%s\\n' % (e.errno or 0, (e.strerror or str(e)).replace('\\n', ' ')))
    out.flush()
`;

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** An error shaped like Node's system errors, so callers can test `code` as for any fs call. */
function systemError(errno: number, message: string, syscall: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${syscall}: ${message}`);
  err.errno = errno;
  err.code = errnoNames.get(errno) ?? 'EIO';
  err.syscall = syscall;
  return err;
}

interface Pending {
  readonly op: string;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

class PythonProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending: Pending[] = [];
  private exited: Error | undefined;
  readonly exit: Promise<void>;

  constructor() {
    this.child = spawn('python3', ['-u', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin.on('error', () => undefined);
    let stderr = '';
    this.child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    createInterface({ input: this.child.stdout }).on('line', (line) => this.answer(line));
    this.exit = new Promise((resolve) => {
      const stop = (err: Error) => {
        this.exited ??= err;
        for (const p of this.pending.splice(0)) p.reject(this.exited);
        resolve();
      };
      this.child.on('error', stop);
      this.child.on('close', (code) => stop(new Error(`python3 helper exited (${code}): ${stderr.trim()}`)));
    });
  }

  private answer(line: string): void {
    const p = this.pending.shift();
    if (!p) return;
    if (line === 'ok') return p.resolve();
    const [, errno, message] = line.split('\t');
    p.reject(systemError(Number(errno), message ?? line, p.op));
  }

  request(fields: readonly string[]): Promise<void> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      this.pending.push({ op: fields[0]!, resolve, reject });
      this.child.stdin.write(fields.join('\t') + '\n');
    });
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    await this.exit;
  }
}

/** Major and minor numbers of a Linux dev_t (glibc's gnu_dev_major/minor). */
export function splitDevice(dev: bigint): [major: bigint, minor: bigint] {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return [major, minor];
}

export class PosixHelper {
  private python: Promise<PythonProcess | undefined> | undefined;
  private scratchCount = 0;

  /** `scratchDir`: a directory on the restore's file system for coreutils to create nodes in. */
  constructor(private readonly scratchDir: string) {}

  /** The python3 process, started on first use; undefined when python3 cannot run here. */
  private process(): Promise<PythonProcess | undefined> {
    this.python ??= (async () => {
      const p = new PythonProcess();
      // A harmless request proves the interpreter started and runs the script.
      const ok = await p.request(['utime', '', '0', '0']).then(
        () => true,
        (err: NodeJS.ErrnoException) => err.syscall === 'utime',
      );
      return ok ? p : undefined;
    })();
    return this.python;
  }

  /** utimensat without following a symlink; false when only Node's approximation is available. */
  async setTimes(path: Buffer, atimeNs: bigint, mtimeNs: bigint): Promise<boolean> {
    const p = await this.process();
    if (!p) return false;
    await p.request(['utime', path.toString('hex'), atimeNs.toString(), mtimeNs.toString()]);
    return true;
  }

  async mkfifo(path: Buffer, mode: number): Promise<void> {
    const p = await this.process();
    if (p) return p.request(['mkfifo', path.toString('hex'), String(mode)]);
    await this.viaScratch(path, (tmp) => ['mkfifo', ['-m', (mode & 0o7777).toString(8), tmp]]);
  }

  /** mknod with a full st_mode (type bits included) and a Linux dev_t. */
  async mknod(path: Buffer, mode: number, device: bigint): Promise<void> {
    const p = await this.process();
    if (p) return p.request(['mknod', path.toString('hex'), String(mode), device.toString()]);
    const kind = (mode & 0o170000) === 0o060000 ? 'b' : 'c';
    const [major, minor] = splitDevice(device);
    await this.viaScratch(path, (tmp) => ['mknod', ['-m', (mode & 0o7777).toString(8), tmp, kind, String(major), String(minor)]]);
  }

  /** setxattr on the path itself; throws ENOTSUP when python3 is not there to do it. */
  async setxattr(path: Buffer, name: string, value: Buffer): Promise<void> {
    const p = await this.process();
    if (!p) throw systemError(constants.errno.ENOTSUP, 'setting extended attributes on this path needs python3', 'setxattr');
    await p.request(['setxattr', path.toString('hex'), Buffer.from(name).toString('hex'), value.toString('hex')]);
  }

  /**
   * Runs a coreutils command on a temporary text name (command lines cannot carry arbitrary
   * bytes) in the scratch directory, then renames the result into place.
   */
  private async viaScratch(path: Buffer, command: (tmp: string) => [string, string[]]): Promise<void> {
    const tmp = join(this.scratchDir, `.holdfast-restore-${process.pid}-${++this.scratchCount}`);
    const [file, args] = command(tmp);
    try {
      await execFileAsync(file, args);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw systemError(constants.errno.EIO, (e.stderr ?? e.message).trim(), file);
    }
    await rename(tmp, path);
  }

  async close(): Promise<void> {
    const p = await this.python;
    await p?.close();
  }
}
