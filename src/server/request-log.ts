// The request log: one JSON line per request (and per server event) on stdout or appended to a
// file. Records are built from chosen fields only, so secrets and headers can never end up in it.

import { createWriteStream, openSync, type WriteStream } from 'node:fs';

export interface RequestRecord {
  readonly client: string | null;
  readonly method: string;
  /** What was asked for, e.g. `data`, `config`, `list:index`, `create`, `admin:clients`. */
  readonly kind: string;
  readonly status: number;
  /** Body bytes received (uploads) or sent (reads and lists). */
  readonly bytes: number;
  readonly ms: number;
  readonly remote: string | null;
}

export class RequestLog {
  private readonly file: WriteStream | null;
  private closed = false;

  /** @param path a file to append to; null for stdout; 'off' to log nothing. Opened now, so a bad path fails at start. */
  constructor(private readonly path: string | null) {
    if (path && path !== 'off') {
      const file = createWriteStream('', { fd: openSync(path, 'a', 0o640) });
      file.on('error', (err) => process.stderr.write(`holdfast server: cannot write the request log ${path}: ${err.message}\n`));
      this.file = file;
    } else {
      this.file = null;
    }
  }

  request(r: RequestRecord): void {
    this.write({ time: new Date().toISOString(), ...r, ms: Math.round(r.ms * 10) / 10 });
  }

  /** Server events (start, reload, audit results) share the stream so operators see one timeline. */
  event(event: string, fields: Record<string, unknown> = {}): void {
    this.write({ time: new Date().toISOString(), event, ...fields });
  }

  private write(record: object): void {
    if (this.closed) return;
    const line = JSON.stringify(record) + '\n';
    if (this.file) this.file.write(line);
    else if (this.path !== 'off') process.stdout.write(line);
  }

  async close(): Promise<void> {
    this.closed = true;
    const f = this.file;
    if (f) await new Promise<void>((resolve) => f.end(resolve));
  }
}
