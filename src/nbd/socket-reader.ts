// Exact-length reads from a socket: "give me the next N bytes" as a promise, copying straight into
// the caller's buffer, with the socket paused while unread data piles up.

import type { Socket } from 'node:net';

/** The peer closed the connection (or it failed) before the bytes a read waited for arrived. */
export class PeerClosedError extends Error {
  constructor(cause?: Error) {
    super(cause === undefined ? 'connection closed by peer' : `connection lost: ${cause.message}`, { cause });
    this.name = 'PeerClosedError';
  }
}

interface Waiter {
  dest: Buffer;
  filled: number;
  resolve: (dest: Buffer) => void;
  reject: (err: Error) => void;
}

/** Unread bytes above which the socket is paused until a read drains them. */
const HIGH_WATER = 4 * 1024 * 1024;

export class SocketReader {
  readonly #socket: Socket;
  readonly #queue: Buffer[] = [];
  #buffered = 0;
  #waiter: Waiter | undefined;
  #closed: PeerClosedError | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#push(chunk));
    socket.on('error', (err) => this.#close(err));
    socket.on('end', () => this.#close());
    socket.on('close', () => this.#close());
  }

  read(length: number): Promise<Buffer> {
    return this.readInto(Buffer.allocUnsafe(length));
  }

  /** Fills all of dest with the next dest.length bytes of the stream. Only one read at a time. */
  readInto(dest: Buffer): Promise<Buffer> {
    if (this.#waiter !== undefined) throw new Error('SocketReader: a read is already in progress');
    let filled = 0;
    while (filled < dest.length && this.#queue.length > 0) filled += this.#take(dest, filled);
    if (this.#socket.isPaused() && this.#buffered < HIGH_WATER && this.#closed === undefined) this.#socket.resume();
    if (filled === dest.length) return Promise.resolve(dest);
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      this.#waiter = { dest, filled, resolve, reject };
    });
  }

  /** Copies from the head of the queue into dest; returns the bytes copied. */
  #take(dest: Buffer, at: number): number {
    const head = this.#queue[0]!;
    const n = Math.min(head.length, dest.length - at);
    head.copy(dest, at, 0, n);
    if (n === head.length) this.#queue.shift();
    else this.#queue[0] = head.subarray(n);
    this.#buffered -= n;
    return n;
  }

  #push(chunk: Buffer): void {
    const w = this.#waiter;
    if (w === undefined) {
      this.#queue.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= HIGH_WATER) this.#socket.pause();
      return;
    }
    const n = Math.min(chunk.length, w.dest.length - w.filled);
    chunk.copy(w.dest, w.filled, 0, n);
    w.filled += n;
    if (n < chunk.length) {
      this.#queue.push(chunk.subarray(n));
      this.#buffered += chunk.length - n;
    }
    if (w.filled === w.dest.length) {
      this.#waiter = undefined;
      w.resolve(w.dest);
    }
  }

  #close(cause?: Error): void {
    if (this.#closed !== undefined) return;
    this.#closed = new PeerClosedError(cause);
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(this.#closed);
  }
}
