// One request and its response, plus what the request log records about it. Replies are short:
// an empty body for success, one line of text for an error, JSON for the admin API.

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

/** More than the largest restic pack (128 MiB), so refusing a real upload never costs the connection. */
const DISCARD_LIMIT = 256 * 1024 * 1024;

export class Exchange {
  readonly started = performance.now();
  client: string | null = null;
  kind = 'unknown';
  bytes = 0;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {}

  get method(): string {
    return this.req.method ?? '';
  }

  /** True once nothing more can be sent: answered already, or the connection is gone. */
  get done(): boolean {
    return this.res.headersSent || this.res.destroyed || this.req.socket.destroyed;
  }

  empty(status: number, headers: OutgoingHttpHeaders = {}): void {
    if (this.done) return;
    this.res.writeHead(status, { 'Content-Length': 0, ...headers });
    this.res.end();
  }

  /** One line of text: what went wrong and, where useful, what to do. */
  text(status: number, message: string, headers: OutgoingHttpHeaders = {}): void {
    if (this.done) return;
    const body = Buffer.from(message + '\n');
    this.res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, ...headers });
    this.res.end(this.method === 'HEAD' ? undefined : body);
  }

  json(status: number, value: unknown): void {
    if (this.done) return;
    const body = Buffer.from(JSON.stringify(value, null, 2) + '\n');
    this.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    this.res.end(this.method === 'HEAD' ? undefined : body);
  }

  /**
   * Reads and drops what is left of a request body the answer did not need (an upload refused
   * half-way), so the connection can carry the next request. A client that keeps sending far beyond
   * any object's size is cut off instead.
   */
  discardBody(): void {
    if (this.req.complete || this.req.destroyed) return;
    let budget = DISCARD_LIMIT;
    this.req.on('data', (chunk: Buffer) => {
      budget -= chunk.length;
      if (budget < 0) this.req.socket.destroy();
    });
    this.req.resume();
  }

  methodNotAllowed(allow: string): void {
    this.text(405, `method ${this.method} not allowed here`, { Allow: allow });
  }
}
