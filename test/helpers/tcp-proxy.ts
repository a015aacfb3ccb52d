// A TCP proxy on 127.0.0.1 for network faults: it can cut the connection that carries a given
// upload byte, and pace uploads so that a test can act while a backup is half done.

import { connect, createServer, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

export interface ProxyOptions {
  /**
   * Client-to-server byte counts (over all connections) at which the connection carrying that
   * byte is cut, both ways, before the byte is forwarded. Each cut happens once.
   */
  readonly cutAt?: readonly number[];
  /** Client-to-server bytes per second over all connections; unlimited when absent. */
  readonly bytesPerSecond?: number;
}

export interface TcpProxy {
  readonly port: number;
  /** Connections cut so far. */
  readonly cuts: number;
}

export async function startProxy(t: TestContext, targetPort: number, options: ProxyOptions = {}): Promise<TcpProxy> {
  const cutAt = [...(options.cutAt ?? [])].sort((a, b) => a - b);
  const sockets = new Set<Socket>();
  // When the paced bytes forwarded so far are due; never in the past, so idle time earns no burst.
  let due = 0;
  const state = { port: 0, forwarded: 0, cuts: 0 };

  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => sockets.delete(client) && upstream.destroy());
    upstream.on('close', () => sockets.delete(upstream) && client.destroy());
    client.on('error', cut);
    upstream.on('error', cut);
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      const next = cutAt[0];
      if (next !== undefined && state.forwarded + chunk.length > next) {
        cutAt.shift();
        state.cuts++;
        const rest = chunk.subarray(0, next - state.forwarded);
        state.forwarded = next;
        if (rest.length > 0) upstream.write(rest, cut);
        else cut();
        return;
      }
      state.forwarded += chunk.length;
      upstream.write(chunk);
      if (options.bytesPerSecond) {
        // Ahead of the pace: stop reading until the schedule catches up.
        due = Math.max(due, Date.now()) + (chunk.length / options.bytesPerSecond) * 1000;
        const wait = due - Date.now();
        if (wait > 0) {
          client.pause();
          setTimeout(() => client.resume(), wait).unref();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as { port: number }).port;
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return state;
}
