// Real NBD servers for the tests: nbdkit and qemu-nbd on a Unix socket or 127.0.0.1, ready when
// their pid file appears (both write it only once listening); clients closed, then servers killed.

import { spawn, type ChildProcess } from 'node:child_process';
import { access } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NbdClient, type NbdConnectOptions } from '../../src/nbd/client.js';

export interface Peer {
  /** The export as an NBD URI, with the export name the server was given. */
  readonly uri: string;
  readonly child: ChildProcess;
  /** What the server printed on stderr so far, for failure messages. */
  stderr(): string;
  /** A client of this export, closed when the test ends before the server is stopped. */
  connect(options?: NbdConnectOptions): Promise<NbdClient>;
  /** Sends the server a signal at once (clients stay open) and waits until it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface PeerOptions {
  /** Listen on 127.0.0.1 (a free port) instead of a Unix socket in dir. */
  tcp?: boolean;
  /** Export name the URI carries; the server's own arguments decide what it serves. */
  exportName?: string;
}

let counter = 0;

/** nbdkit [args...] in the foreground, exiting with this process if the test runner dies. */
export function startNbdkit(t: TestContext, dir: string, args: string[], options: PeerOptions = {}): Promise<Peer> {
  return startPeer(t, dir, options, (listen, pidFile) => ['nbdkit', ['--exit-with-parent', '-f', '-P', pidFile, ...listen.nbdkit, ...args]]);
}

/** qemu-nbd [args...]; --persistent so one connection ending does not stop the server. */
export function startQemuNbd(t: TestContext, dir: string, args: string[], options: PeerOptions = {}): Promise<Peer> {
  return startPeer(t, dir, options, (listen, pidFile) => ['qemu-nbd', ['--persistent', `--pid-file=${pidFile}`, ...listen.qemu, ...args]]);
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

interface Listen {
  nbdkit: string[];
  qemu: string[];
  uri: string;
}

async function startPeer(
  t: TestContext,
  dir: string,
  options: PeerOptions,
  command: (listen: Listen, pidFile: string) => [string, string[]],
): Promise<Peer> {
  const id = ++counter;
  const pidFile = join(dir, `peer-${id}.pid`);
  const name = encodeURIComponent(options.exportName ?? '');
  let listen: Listen;
  if (options.tcp) {
    const port = await freePort();
    listen = {
      nbdkit: ['-i', '127.0.0.1', '-p', String(port)],
      qemu: ['-b', '127.0.0.1', '-p', String(port)],
      uri: `nbd://127.0.0.1:${port}/${name}`,
    };
  } else {
    const socket = join(dir, `peer-${id}.sock`);
    listen = { nbdkit: ['-U', socket], qemu: ['-k', socket], uri: `nbd+unix:///${name}?socket=${socket}` };
  }
  const [program, args] = command(listen, pidFile);
  const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    // A program that cannot be started emits 'error' and no 'exit'.
    child.once('error', (err) => {
      stderr += err.message;
      resolve();
    });
  });
  let running = true;
  void exited.then(() => (running = false));

  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (running) child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  // nbdkit answers SIGTERM with ESHUTDOWN but keeps serving until its clients leave, so they go first.
  const clients: NbdClient[] = [];
  t.after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await kill();
  });
  const connect = async (connectOptions?: NbdConnectOptions) => {
    const client = await NbdClient.connect(listen.uri, connectOptions);
    clients.push(client);
    return client;
  };

  for (;;) {
    if (!running) throw new Error(`${program} ${args.join(' ')} exited before it was ready: ${stderr.trim()}`);
    try {
      await access(pidFile);
      break;
    } catch {
      await sleep(20);
    }
  }
  return { uri: listen.uri, child, stderr: () => stderr, connect, kill };
}
