// The holdfast server: restic's REST protocol for many clients, one repository each, with
// accounts, append-only and quotas, durable uploads, scheduled audits, metrics and a request log.

import { readFile } from 'node:fs/promises';
import { type Stats, unwatchFile, watchFile } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { isSystemError, messageOf } from '../errors.js';
import { LocalBackend } from '../backend/local.js';
import { type Accounts, clientInfo, initDataDir, readAccounts } from './accounts.js';
import { type AdminView, type AuditStatus, handleAdmin } from './admin-api.js';
import type { AuditResult } from './audit.js';
import { AuditScheduler } from './audit-scheduler.js';
import { readSummary } from './audit-store.js';
import { Authenticator } from './auth.js';
import { type DataDir, dataDir, repoDirOf } from './data-dir.js';
import { Exchange } from './exchange.js';
import { Metrics, type Sample } from './metrics.js';
import { recordServerUrl } from './repository-url.js';
import { RequestLog } from './request-log.js';
import { handleRepo } from './rest-api.js';
import { route } from './router.js';
import { UsageLedger } from './usage.js';

export interface ServerOptions {
  readonly dataDir: string;
  /** Default: all interfaces. */
  readonly host?: string;
  /** Default 8000; 0 picks a free port. */
  readonly port?: number;
  /** PEM certificate chain and key; serves https when given. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** Request log: a file to append to, null for stdout, 'off' for none. */
  readonly log?: string | null;
  /** Default 24 hours; 0 disables scheduled audits. */
  readonly auditEveryMs?: number;
  /** Bytes per second the audit may read; 0 for no limit. */
  readonly auditRateBytesPerSec?: number;
  /** Default 30 days. */
  readonly reverifyAfterMs?: number;
  readonly metricsNoAuth?: boolean;
  /** A connection that sends or receives nothing this long is closed (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** All request headers must arrive within this (default 30 s). */
  readonly headersTimeoutMs?: number;
  /** Bytes of request headers allowed (default 8 KiB); more is answered with 431. */
  readonly maxHeaderSize?: number;
  /** How often the accounts file is checked for changes (default 2 s). */
  readonly accountsPollMs?: number;
}

const DAY = 86_400_000;

export class HoldfastServer {
  private readonly metrics = new Metrics();
  private readonly ledger = new UsageLedger();
  private readonly auth: Authenticator;
  private readonly audits: AuditScheduler;
  private readonly log: RequestLog;
  private readonly http: Server;
  private reloading: Promise<void> = Promise.resolve();
  private closed = false;
  /** Handlers still running, so close() can wait for their cleanup. */
  private readonly inFlight = new Set<Promise<void>>();
  /** The URL clients use, e.g. `http://127.0.0.1:8000`. */
  url = '';
  port = 0;

  private constructor(
    private readonly options: ServerOptions,
    private readonly data: DataDir,
    private accounts: Accounts,
    /** Set when this start created the data directory: the admin secret, to be shown once. */
    readonly adminSecretCreated: string | null,
    tls: { cert: Buffer; key: Buffer } | null,
  ) {
    this.log = new RequestLog(options.log ?? null);
    this.auth = new Authenticator(accounts);
    this.audits = new AuditScheduler(
      data,
      {
        everyMs: options.auditEveryMs ?? DAY,
        rateBytesPerSec: options.auditRateBytesPerSec ?? 0,
        reverifyAfterMs: options.reverifyAfterMs ?? 30 * DAY,
      },
      () => Object.keys(this.accounts.clients),
      this.log,
    );
    const idle = options.idleTimeoutMs ?? 60_000;
    const headersTimeout = options.headersTimeoutMs ?? 30_000;
    const httpOptions = {
      maxHeaderSize: options.maxHeaderSize ?? 8 * 1024,
      headersTimeout,
      // Uploads of large packs over slow links may take long; the idle timeout bounds a stalled one.
      requestTimeout: 0,
      // Longer than Go's 90 s idle-connection timeout, so restic closes idle connections before the
      // server does and never sends a request on a connection the server is closing.
      keepAliveTimeout: 120_000,
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(headersTimeout / 4))),
    };
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.http = tls
      ? createHttpsServer({ ...httpOptions, cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, handler)
      : createHttpServer(httpOptions, handler);
    this.http.setTimeout(idle, (socket: Socket) => socket.destroy());
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.clientError(err, socket));
  }

  static async start(options: ServerOptions): Promise<HoldfastServer> {
    const init = await initDataDir(options.dataDir);
    const d = dataDir(options.dataDir);
    const accounts = await readAccounts(d);
    const tls = options.tls ? { cert: await readFile(options.tls.certFile), key: await readFile(options.tls.keyFile) } : null;
    const server = new HoldfastServer(options, d, accounts, init.adminSecret, tls);
    for (const name of Object.keys(accounts.clients)) await server.ledger.tally(name, repoDirOf(d, name));
    await server.listen(tls !== null);
    return server;
  }

  private async listen(tls: boolean): Promise<void> {
    const host = this.options.host;
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port ?? 8000, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const addr = this.http.address() as AddressInfo;
    this.port = addr.port;
    const unspecified = !host || host === '0.0.0.0' || host === '::';
    const shownHost = unspecified ? hostname() : addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url = `${tls ? 'https' : 'http'}://${shownHost}:${addr.port}`;
    await recordServerUrl(this.data, this.url);
    watchFile(this.data.accounts, { interval: this.options.accountsPollMs ?? 2000, persistent: false }, this.accountsChanged);
    this.audits.start();
    this.log.event('start', { url: this.url, clients: Object.keys(this.accounts.clients).length });
  }

  private readonly accountsChanged = (cur: Stats, prev: Stats): void => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size) void this.reloadAccounts();
  };

  /** Re-reads the accounts file (also on SIGHUP); new clients are tallied before they can log in. */
  reloadAccounts(): Promise<void> {
    this.reloading = this.reloading.then(async () => {
      let next: Accounts;
      try {
        next = await readAccounts(this.data);
      } catch (err) {
        this.log.event('accounts-reload-failed', { message: messageOf(err) });
        return;
      }
      for (const name of Object.keys(next.clients)) {
        if (!this.ledger.has(name)) await this.ledger.tally(name, repoDirOf(this.data, name));
      }
      for (const name of this.ledger.clients()) {
        if (!Object.hasOwn(next.clients, name)) {
          this.ledger.drop(name);
          this.metrics.forgetClient(name);
        }
      }
      this.accounts = next;
      this.auth.setAccounts(next);
      this.log.event('accounts-reloaded', { clients: Object.keys(next.clients).length });
    });
    return this.reloading;
  }

  /** Audits now (all clients, or one) instead of waiting for the schedule. */
  runAudit(client?: string): Promise<AuditResult> {
    return this.audits.runNow(client);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const x = new Exchange(req, res);
    res.once('close', () => this.finish(x));
    const work = this.dispatch(x);
    this.inFlight.add(work);
    try {
      await work;
    } catch (err) {
      this.log.event('error', { kind: x.kind, client: x.client, message: messageOf(err) });
      if (x.done) res.destroy();
      else if (isSystemError(err, 'ENOSPC', 'EDQUOT')) x.text(507, "the server's disk is full");
      else x.text(500, 'internal server error');
    } finally {
      this.inFlight.delete(work);
      x.discardBody();
    }
  }

  private async dispatch(x: Exchange): Promise<void> {
    const r = route(x.req.url ?? '');
    if (r.kind === 'metrics' && this.options.metricsNoAuth) return this.serveMetrics(x);
    const who = await this.auth.authenticate(x.req.headers.authorization);
    if (!who) {
      x.kind = 'unauthenticated';
      return x.text(401, 'authentication required');
    }
    x.client = who.kind === 'admin' ? 'admin' : who.name;
    switch (r.kind) {
      case 'none':
        x.kind = 'invalid';
        return x.text(404, 'not found');
      case 'metrics':
        if (who.kind !== 'admin') return x.text(401, 'authentication required');
        return this.serveMetrics(x);
      case 'admin':
        if (who.kind !== 'admin') return x.text(401, 'authentication required');
        return handleAdmin(x, r.resource, this.adminView);
      case 'repo': {
        // A client reaches its own repository only; others answer as if unauthenticated.
        if (who.kind !== 'client' || who.name !== r.client) {
          x.kind = 'other-client';
          return x.text(401, 'authentication required');
        }
        if (!r.target) {
          x.kind = 'invalid';
          return x.text(404, 'not found');
        }
        const backend = new LocalBackend(repoDirOf(this.data, who.name));
        return handleRepo(x, { name: who.name, account: who.account, backend }, r.target, {
          data: this.data,
          ledger: this.ledger,
          metrics: this.metrics,
        });
      }
    }
  }

  private finish(x: Exchange): void {
    // A connection cut before any answer (client gone, idle timeout) is logged with status 0.
    const status = x.res.headersSent ? x.res.statusCode : 0;
    this.log.request({
      client: x.client,
      method: x.method,
      kind: x.kind,
      status,
      bytes: x.bytes,
      ms: performance.now() - x.started,
      remote: x.req.socket.remoteAddress ?? null,
    });
    this.countStatus(status);
  }

  private countStatus(status: number): void {
    this.metrics.inc('holdfast_http_responses_total', { status: String(status) });
    if (status >= 400 || status === 0) this.metrics.inc('holdfast_http_errors_total', { status: String(status) });
  }

  /** Malformed requests, oversized headers and header timeouts never reach a handler. */
  private clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    if (err.code !== 'ECONNRESET' && socket.writable && socket.bytesWritten === 0) {
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      this.log.request({ client: null, method: '', kind: 'bad-request', status, bytes: 0, ms: 0, remote: socket.remoteAddress ?? null });
      this.countStatus(status);
    }
    socket.destroy();
  }

  private readonly adminView: AdminView = {
    clients: () => Object.entries(this.accounts.clients).map(([name, a]) => clientInfo(name, a)),
    usage: (client) => this.ledger.get(client),
    auditStatus: () => this.auditStatus(),
  };

  private async auditStatus(): Promise<AuditStatus> {
    const clients = [];
    for (const name of Object.keys(this.accounts.clients).sort()) clients.push(await readSummary(this.data, name));
    return {
      running: this.audits.running,
      everyMs: this.audits.everyMs,
      nextRun: this.audits.nextRun?.toISOString() ?? null,
      clients,
    };
  }

  private async serveMetrics(x: Exchange): Promise<void> {
    x.kind = 'metrics';
    if (x.method !== 'GET') return x.methodNotAllowed('GET');
    const gauges = new Map<string, { help: string; samples: Sample[] }>();
    const gauge = (name: string, help: string, samples: Sample[]) => gauges.set(name, { help, samples });
    const names = Object.keys(this.accounts.clients).sort();
    const usage = names.map((client) => ({ client, u: this.ledger.get(client), quota: this.accounts.clients[client]!.quota }));
    gauge('holdfast_stored_bytes', 'Bytes stored in the client repository.', usage.map(({ client, u }) => ({ labels: { client }, value: u.bytes })));
    gauge('holdfast_stored_files', 'Files stored in the client repository.', usage.map(({ client, u }) => ({ labels: { client }, value: u.files })));
    gauge(
      'holdfast_quota_bytes',
      'Quota of the client repository (clients with a quota only).',
      usage.filter((c) => c.quota !== null).map(({ client, quota }) => ({ labels: { client }, value: quota! })),
    );
    const status = await this.auditStatus();
    const now = Date.now();
    const seconds = (iso: string) => Date.parse(iso) / 1000;
    const runs = status.clients.filter((c) => c.lastRun !== null);
    gauge('holdfast_audit_last_run_timestamp_seconds', 'When the last audit of the client finished.', runs.map((c) => ({ labels: { client: c.client }, value: seconds(c.lastRun!.finished) })));
    gauge('holdfast_audit_last_problems', 'Problems found by the last audit of the client.', runs.map((c) => ({ labels: { client: c.client }, value: c.lastRun!.problems.length })));
    gauge('holdfast_audit_last_files_checked', 'Files read and verified by the last audit of the client.', runs.map((c) => ({ labels: { client: c.client }, value: c.lastRun!.filesChecked })));
    gauge('holdfast_audit_last_bytes_read', 'Bytes read by the last audit of the client.', runs.map((c) => ({ labels: { client: c.client }, value: c.lastRun!.bytesRead })));
    const clean = status.clients.filter((c) => c.lastClean !== null);
    gauge('holdfast_audit_last_clean_timestamp_seconds', 'When the last audit without problems finished.', clean.map((c) => ({ labels: { client: c.client }, value: seconds(c.lastClean!) })));
    gauge('holdfast_audit_last_clean_age_seconds', 'Seconds since the last audit without problems.', clean.map((c) => ({ labels: { client: c.client }, value: Math.round(now / 1000 - seconds(c.lastClean!)) })));
    gauge('holdfast_audit_running', '1 while an audit runs.', [{ labels: {}, value: status.running ? 1 : 0 }]);
    gauge('process_resident_memory_bytes', 'Resident memory of the server process.', [{ labels: {}, value: process.memoryUsage.rss() }]);
    const body = Buffer.from(this.metrics.render(gauges));
    x.bytes = body.length;
    x.res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': body.length }).end(body);
  }

  /**
   * Stops accepting connections, lets requests in progress finish for up to `graceMs`, then cuts
   * the rest. Resolves once every handler has cleaned up (cut uploads remove their temp files).
   */
  async close(graceMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    unwatchFile(this.data.accounts, this.accountsChanged);
    const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    const grace = setTimeout(() => this.http.closeAllConnections(), graceMs);
    await stopped;
    clearTimeout(grace);
    await Promise.allSettled(this.inFlight);
    await this.audits.stop();
    await this.reloading;
    this.log.event('stop');
    await this.log.close();
  }
}
