// The REST backend: a repository on a holdfast server (or restic's rest-server) over undici, with a
// bounded keep-alive pool, retries with backoff on network errors and 5xx, and secret-free errors.

import { createReadStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { HoldfastError, invalidArgument, messageOf } from '../errors.js';
import { type Backend, checkHandle, describe, type FileInfo, type FileType, fileTypes, type Handle, notFound } from './backend.js';
import { parseRestLocation, type RestLocation } from './rest-url.js';

export interface RestOptions {
  /** Parallel requests (connections) to the server; restic's rest.connections, default 5. */
  readonly connections?: number;
  /** PEM file of a certificate authority to trust in addition to the system's (self-signed servers). */
  readonly caCertFile?: string;
  /** Attempts after the first one for network errors and 5xx answers (default 6). */
  readonly retries?: number;
  /** First backoff delay; it doubles per attempt up to `retryMaxMs` (defaults 500 ms and 30 s). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

const V2 = 'application/vnd.x.restic.rest.v2';
const namePattern = /^[0-9a-f]{64}$/;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** A request body made afresh for every attempt: a stream consumed by a failed attempt cannot be sent again. */
type Body = () => Buffer | Readable;

/** A failure worth another attempt: the connection broke or the server had a transient problem. */
class Transient extends Error {}

/** Thrown errors that no retry can fix: bad arguments, a closed pool, an untrusted certificate. */
function isFinal(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? '');
  return (
    // A temp file whose size changed since it was measured will not send right on another attempt either.
    ['UND_ERR_INVALID_ARG', 'UND_ERR_DESTROYED', 'UND_ERR_CLOSED', 'UND_ERR_ABORTED', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'].includes(code) ||
    /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)
  );
}

export class RestBackend implements Backend {
  readonly location: string;
  private readonly pool: Pool;
  private readonly authorization: string | null;
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;

  private constructor(
    private readonly url: RestLocation,
    options: RestOptions,
    ca: string | null,
  ) {
    this.location = url.display;
    this.authorization = url.user === null ? null : `Basic ${Buffer.from(`${url.user}:${url.secret ?? ''}`).toString('base64')}`;
    this.retries = options.retries ?? 6;
    this.retryBaseMs = options.retryBaseMs ?? 500;
    this.retryMaxMs = options.retryMaxMs ?? 30_000;
    this.pool = new Pool(url.origin, {
      connections: options.connections ?? 5,
      ...(ca === null ? {} : { connect: { ca: [...rootCertificates, ca] } }),
    });
  }

  static async open(location: string, options: RestOptions = {}): Promise<RestBackend> {
    const url = parseRestLocation(location, options.env);
    let ca: string | null = null;
    if (options.caCertFile !== undefined) {
      try {
        ca = await readFile(options.caCertFile, 'utf8');
      } catch (err) {
        throw new HoldfastError('ERR_INVALID_ARGUMENT', `cannot read CA certificate ${options.caCertFile}: ${messageOf(err)}`);
      }
    }
    return new RestBackend(url, options, ca);
  }

  private pathOf(h: Handle): string {
    checkHandle(h);
    return this.url.basePath + (h.type === 'config' ? 'config' : `${h.type}/${h.name}`);
  }

  async create(): Promise<void> {
    const a = await this.call('POST', `${this.url.basePath}?create=true`, 'create the repository', {});
    if (a.status !== 200) throw this.failure(a, 'create the repository');
  }

  async stat(h: Handle): Promise<FileInfo> {
    const a = await this.call('HEAD', this.pathOf(h), `stat ${describe(h)}`, {});
    if (a.status === 404) throw notFound(this.location, h);
    if (a.status !== 200) throw this.failure(a, `stat ${describe(h)}`);
    const size = Number(a.headers['content-length']);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new HoldfastError('ERR_HTTP', `${this.location} answered HEAD ${describe(h)} without a valid Content-Length`);
    }
    return { name: h.type === 'config' ? 'config' : h.name, size };
  }

  async read(h: Handle, range?: { offset: number; length: number }): Promise<Buffer> {
    const path = this.pathOf(h);
    if (range && range.length === 0) {
      await this.stat(h);
      return Buffer.alloc(0);
    }
    const headers: Record<string, string> = range ? { range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {};
    const a = await this.call('GET', path, `read ${describe(h)}`, { headers });
    if (a.status === 404) throw notFound(this.location, h);
    if (a.status === 416) {
      throw new HoldfastError('ERR_CORRUPT', `${describe(h)} is shorter than ${range!.offset + range!.length} bytes (read ${range!.length} at ${range!.offset})`);
    }
    let body: Buffer;
    if (a.status === 206 || (a.status === 200 && !range)) body = a.body;
    // A server that ignores Range sends the whole file: cut the range out of it.
    else if (a.status === 200) body = a.body.subarray(range!.offset, range!.offset + range!.length);
    else throw this.failure(a, `read ${describe(h)}`);
    if (range && body.length !== range.length) {
      throw new HoldfastError('ERR_CORRUPT', `${describe(h)} is truncated: wanted ${range.length} bytes at ${range.offset}, got ${body.length}`);
    }
    return body;
  }

  async write(h: Handle, data: Buffer): Promise<void> {
    await this.upload(h, data.length, () => data);
  }

  readonly tempDir = tmpdir();

  /** Streams the file from disk, reopened for each attempt, so a pack of any size never sits in memory. */
  async writeFile(h: Handle, path: string): Promise<void> {
    try {
      let size: number;
      try {
        size = (await stat(path)).size;
      } catch (err) {
        throw new HoldfastError('ERR_IO', `cannot store ${describe(h)}: ${messageOf(err)}`, { cause: err });
      }
      await this.upload(h, size, () => createReadStream(path));
    } finally {
      await rm(path, { force: true });
    }
  }

  private async upload(h: Handle, size: number, body: Body): Promise<void> {
    const what = `store ${describe(h)}`;
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size) };
    const a = await this.call('POST', this.pathOf(h), what, { body, headers });
    if (a.status === 200) return;
    if (a.status === 403) {
      // rest-server answers 403 to a retry of a write that succeeded; an equal-sized content-addressed file is that retry.
      const existing = await this.stat(h).catch(() => null);
      if (existing && h.type !== 'config' && existing.size === size) return;
      if (existing) {
        throw new HoldfastError(
          'ERR_ALREADY_EXISTS',
          h.type === 'config' ? `a repository already exists at ${this.location} (config is present)` : `${describe(h)} already exists at ${this.location} with different content`,
        );
      }
    }
    throw this.failure(a, what);
  }

  async remove(h: Handle): Promise<void> {
    const a = await this.call('DELETE', this.pathOf(h), `remove ${describe(h)}`, {});
    if (a.status !== 200 && a.status !== 404) throw this.failure(a, `remove ${describe(h)}`);
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    if (!(fileTypes as readonly string[]).includes(type)) throw invalidArgument(`invalid file type "${type}"`);
    const a = await this.call('GET', `${this.url.basePath}${type}/`, `list ${type}`, { headers: { accept: V2 } });
    // Newer restic treats a missing type directory as empty; so do we.
    if (a.status === 404) return;
    if (a.status !== 200) throw this.failure(a, `list ${type}`);
    let items: unknown;
    try {
      items = JSON.parse(a.body.toString('utf8'));
    } catch {
      throw new HoldfastError('ERR_HTTP', `${this.location} answered the ${type} listing with invalid JSON`);
    }
    if (!Array.isArray(items)) throw new HoldfastError('ERR_HTTP', `${this.location} answered the ${type} listing with something other than a list`);
    if (a.headers['content-type'] === V2) {
      for (const item of items as { name?: unknown; size?: unknown }[]) {
        if (typeof item?.name === 'string' && namePattern.test(item.name) && typeof item.size === 'number') yield { name: item.name, size: item.size };
      }
      return;
    }
    // API v1 lists names only; each size takes a HEAD.
    for (const name of items) {
      if (typeof name !== 'string' || !namePattern.test(name)) continue;
      try {
        yield await this.stat({ type, name });
      } catch (err) {
        if (!(err instanceof HoldfastError && err.code === 'ERR_NOT_FOUND')) throw err;
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** One request with retries; the answer's body is read whole (objects are buffers in this interface). */
  private async call(method: 'GET' | 'HEAD' | 'POST' | 'DELETE', path: string, what: string, o: { headers?: Record<string, string>; body?: Body }): Promise<Answer> {
    const headers: Record<string, string> = { accept: V2, ...o.headers };
    if (this.authorization) headers.authorization = this.authorization;
    for (let attempt = 0; ; attempt++) {
      try {
        const a = await this.once(method, path, headers, o.body?.());
        // 501 and 507 will not get better by asking again.
        if (a.status >= 500 && a.status !== 501 && a.status !== 507) throw new Transient(`server answered ${a.status} ${firstLine(a.body)}`);
        return a;
      } catch (err) {
        if (isFinal(err)) throw this.networkError(what, err, attempt);
        if (attempt >= this.retries) throw this.networkError(what, err, attempt);
        const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** attempt);
        await sleep(delay * (0.8 + 0.4 * Math.random()));
      }
    }
  }

  private async once(method: 'GET' | 'HEAD' | 'POST' | 'DELETE', path: string, headers: Record<string, string>, body?: Buffer | Readable): Promise<Answer> {
    try {
      const res = await this.pool.request({ method, path, headers, ...(body ? { body } : {}) });
      const chunks: Buffer[] = [];
      for await (const chunk of res.body) chunks.push(chunk as Buffer);
      return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
    } finally {
      // A stream the server answered early (507, 403) or a broken connection left unread must not keep its file open.
      if (body && !Buffer.isBuffer(body)) body.destroy();
    }
  }

  private networkError(what: string, err: unknown, attempt: number): HoldfastError {
    const tries = attempt + 1;
    if (err instanceof Transient) {
      return new HoldfastError('ERR_HTTP', `cannot ${what} at ${this.location}: ${this.scrub(err.message)} (${tries} attempt${tries > 1 ? 's' : ''})`);
    }
    const code = String((err as { code?: unknown })?.code ?? '');
    const hint = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code) ? '; for a self-signed server certificate pass it with --cacert' : '';
    return new HoldfastError('ERR_NETWORK', `cannot ${what} at ${this.location}: ${this.scrub(messageOf(err))}${hint} (${tries} attempt${tries > 1 ? 's' : ''})`, {
      cause: err,
    });
  }

  private failure(a: Answer, what: string): HoldfastError {
    const said = firstLine(a.body);
    const detail = `${this.location} answered ${a.status}${said ? `: ${this.scrub(said)}` : ''}`;
    switch (a.status) {
      case 401:
        return new HoldfastError('ERR_PERMISSION', `cannot ${what}: ${detail} (check the user and secret of the repository URL)`);
      case 403:
        return new HoldfastError('ERR_PERMISSION', `cannot ${what}: ${detail}`);
      case 507:
        return new HoldfastError('ERR_NO_SPACE', `cannot ${what}: ${detail}`);
      default:
        return new HoldfastError('ERR_HTTP', `cannot ${what}: ${detail}`);
    }
  }

  /** Nothing we print may carry the secret, whatever a server or a library put in a message. */
  private scrub(text: string): string {
    const s = this.url.secret;
    return s ? text.split(s).join('***') : text;
  }
}

function firstLine(body: Buffer): string {
  const text = body.subarray(0, 300).toString('utf8').trim();
  return text.split('\n')[0] ?? '';
}
