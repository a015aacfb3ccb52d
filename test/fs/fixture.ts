// Builds file-system fixtures that Node's fs cannot make alone (fifos, sockets, device nodes,
// xattrs, nanosecond times, owners) through one python3 run, with paths passed as hex bytes.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type FixtureOp =
  | { op: 'mkdir'; path: Buffer; mode?: number }
  | { op: 'file'; path: Buffer; data?: Buffer; mode?: number }
  | { op: 'truncate'; path: Buffer; size: number }
  | { op: 'symlink'; path: Buffer; target: Buffer }
  | { op: 'link'; path: Buffer; target: Buffer }
  | { op: 'fifo'; path: Buffer }
  | { op: 'socket'; path: Buffer }
  | { op: 'device'; path: Buffer; kind: 'c' | 'b'; major: number; minor: number }
  | { op: 'xattr'; path: Buffer; name: string; value: Buffer }
  | { op: 'chown'; path: Buffer; uid: number; gid: number }
  | { op: 'chmod'; path: Buffer; mode: number }
  | { op: 'mtime'; path: Buffer; ns: bigint }
  /** Every entry under path (and path itself) gets this atime, its mtime kept. */
  | { op: 'atimes'; path: Buffer; ns: bigint };

const script = `
import json, os, socket, stat, sys
def b(h): return bytes.fromhex(h)
for o in json.load(sys.stdin):
    p = b(o['path']); op = o['op']
    if op == 'mkdir': os.mkdir(p); os.chmod(p, o.get('mode', 0o755))
    elif op == 'file':
        with open(p, 'wb') as f: f.write(b(o.get('data', '')))
        os.chmod(p, o.get('mode', 0o644))
    elif op == 'truncate': os.truncate(p, o['size'])
    elif op == 'symlink': os.symlink(b(o['target']), p)
    elif op == 'link': os.link(b(o['target']), p)
    elif op == 'fifo': os.mkfifo(p)
    elif op == 'socket':
        s = socket.socket(socket.AF_UNIX); s.bind(p); s.close()
    elif op == 'device':
        kind = stat.S_IFCHR if o['kind'] == 'c' else stat.S_IFBLK
        os.mknod(p, kind | 0o600, os.makedev(o['major'], o['minor']))
    elif op == 'xattr': os.setxattr(p, o['name'], b(o['value']), follow_symlinks=False)
    elif op == 'chown': os.chown(p, o['uid'], o['gid'], follow_symlinks=False)
    elif op == 'chmod': os.chmod(p, o['mode'])
    elif op == 'mtime':
        st = os.lstat(p); os.utime(p, ns=(st.st_atime_ns, int(o['ns'])), follow_symlinks=False)
    elif op == 'atimes':
        for root, dirs, files in os.walk(p, topdown=False):
            for n in dirs + files:
                q = os.path.join(root, n); st = os.lstat(q)
                os.utime(q, ns=(int(o['ns']), st.st_mtime_ns), follow_symlinks=False)
        st = os.lstat(p); os.utime(p, ns=(int(o['ns']), st.st_mtime_ns), follow_symlinks=False)
`;

/** Applies the operations in order (a failing one fails the whole run, with python's message). */
export async function buildFixture(ops: readonly FixtureOp[]): Promise<void> {
  const json = JSON.stringify(ops, (_key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (value !== null && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') {
      return Buffer.from((value as { data: number[] }).data).toString('hex');
    }
    return value;
  });
  const child = run('python3', ['-c', script]);
  child.child.stdin!.end(json);
  await child;
}
