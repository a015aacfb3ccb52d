// restic's REST protocol (API v1 and v2) on one client's repository: create, config, lists and
// objects, with append-only rules, quotas and durable uploads. Statuses follow restic 0.14's needs.

import { once } from 'node:events';
import { type FileHandle, open, stat, unlink } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { isSystemError } from '../errors.js';
import type { FileType, Handle } from '../backend/backend.js';
import type { LocalBackend } from '../backend/local.js';
import type { ClientAccount } from './accounts.js';
import { journalDeletion } from './audit-store.js';
import { type DataDir, repoRelPath } from './data-dir.js';
import type { Exchange } from './exchange.js';
import type { Metrics } from './metrics.js';
import { parseRange } from './range.js';
import type { RepoTarget } from './router.js';
import { formatSize } from './units.js';
import { receiveUpload, type UploadOutcome } from './upload.js';
import type { UsageLedger } from './usage.js';

const CONTENT_TYPE_V1 = 'application/vnd.x.restic.rest.v1';
const CONTENT_TYPE_V2 = 'application/vnd.x.restic.rest.v2';

export interface ClientRepo {
  readonly name: string;
  readonly account: ClientAccount;
  readonly backend: LocalBackend;
}

export interface RepoServices {
  readonly data: DataDir;
  readonly ledger: UsageLedger;
  readonly metrics: Metrics;
}

const READ_CHUNK = 1024 * 1024;
const LIST_FLUSH = 64 * 1024;

export async function handleRepo(x: Exchange, repo: ClientRepo, target: RepoTarget, s: RepoServices): Promise<void> {
  switch (target.what) {
    case 'root':
      x.kind = 'create';
      if (x.method !== 'POST') return x.methodNotAllowed('POST');
      if (!target.create) return x.text(400, 'POST to a repository path needs ?create=true');
      await repo.backend.create();
      return x.empty(200);
    case 'list':
      x.kind = `list:${target.type}`;
      if (x.method !== 'GET') return x.methodNotAllowed('GET');
      return list(x, repo, target.type);
    case 'config':
      x.kind = 'config';
      return object(x, repo, { type: 'config' }, s);
    case 'object':
      x.kind = target.type;
      return object(x, repo, { type: target.type, name: target.name }, s);
  }
}

async function object(x: Exchange, repo: ClientRepo, h: Handle, s: RepoServices): Promise<void> {
  switch (x.method) {
    case 'HEAD':
    case 'GET':
      return read(x, repo, h, s);
    case 'POST':
      return upload(x, repo, h, s);
    case 'DELETE':
      return remove(x, repo, h, s);
    default:
      return x.methodNotAllowed('GET, HEAD, POST, DELETE');
  }
}

async function read(x: Exchange, repo: ClientRepo, h: Handle, s: RepoServices): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(repo.backend.pathOf(h), 'r');
  } catch (err) {
    if (isSystemError(err, 'ENOENT', 'ENOTDIR')) return x.text(404, 'not found');
    throw err;
  }
  let handedOver = false;
  try {
    const size = (await fh.stat()).size;
    if (x.method === 'HEAD') {
      x.res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size, 'Accept-Ranges': 'bytes' }).end();
      return;
    }
    const range = parseRange(x.req.headers.range, size);
    if (range.kind === 'unsatisfiable') return x.text(416, `range not satisfiable for ${size} bytes`, { 'Content-Range': `bytes */${size}` });
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, size - 1];
    const length = end - start + 1;
    x.res.writeHead(range.kind === 'partial' ? 206 : 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': length,
      'Accept-Ranges': 'bytes',
      ...(range.kind === 'partial' ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (length === 0) return void x.res.end();
    handedOver = true;
    const stream = fh.createReadStream({ start, end, highWaterMark: READ_CHUNK });
    stream.on('data', (chunk: string | Buffer) => {
      x.bytes += chunk.length;
    });
    try {
      await pipeline(stream, x.res);
      const labels = { client: repo.name, type: h.type };
      s.metrics.inc('holdfast_downloads_total', labels);
      s.metrics.inc('holdfast_download_bytes_total', labels, length);
    } catch {
      // The client went away mid-download; the stream closed the file.
      x.res.destroy();
    }
  } finally {
    if (!handedOver) await fh.close();
  }
}

async function list(x: Exchange, repo: ClientRepo, type: FileType): Promise<void> {
  const v2 = x.req.headers.accept === CONTENT_TYPE_V2;
  let pending = '[';
  let count = 0;
  const flush = async (final: boolean) => {
    if (!x.res.headersSent) x.res.writeHead(200, { 'Content-Type': v2 ? CONTENT_TYPE_V2 : CONTENT_TYPE_V1 });
    x.bytes += Buffer.byteLength(pending);
    if (final) x.res.end(pending);
    else await writeChunk(x.res, pending);
    pending = '';
  };
  // Headers go out with the first flush, so a listing that fails early still gets a 500.
  for await (const f of repo.backend.list(type)) {
    if (count++ > 0) pending += ',';
    pending += v2 ? JSON.stringify({ name: f.name, size: f.size }) : JSON.stringify(f.name);
    if (pending.length >= LIST_FLUSH) {
      await flush(false);
      if (x.res.destroyed) return;
    }
  }
  pending += ']';
  await flush(true);
}

/** Resolves when the response can take more, or has closed (a gone client must not hang the listing). */
async function writeChunk(res: ServerResponse, chunk: string): Promise<void> {
  if (res.write(chunk)) return;
  const ac = new AbortController();
  await Promise.race([once(res, 'drain', { signal: ac.signal }), once(res, 'close', { signal: ac.signal })]).catch(() => undefined);
  ac.abort();
}

async function upload(x: Exchange, repo: ClientRepo, h: Handle, s: RepoServices): Promise<void> {
  const header = x.req.headers['content-length'];
  const contentLength = header === undefined ? null : Number(header);
  const quota = repo.account.quota;
  const outcome = await receiveUpload({
    body: x.req.iterator({ destroyOnReturn: false }),
    contentLength,
    dir: repo.backend.dirOf(h),
    final: repo.backend.pathOf(h),
    expectedHash: h.type === 'config' ? null : h.name,
    makeDir: h.type === 'data',
    quota: {
      reserve: (n) => s.ledger.reserve(repo.name, n, quota),
      release: (n) => s.ledger.release(repo.name, n),
      stored: (reserved, size) => s.ledger.stored(repo.name, reserved, size),
    },
  }).catch((err: unknown) => {
    // The type directory is missing: the repository was never created.
    if (isSystemError(err, 'ENOENT', 'ENOTDIR')) return null;
    throw err;
  });
  if (outcome === null) return x.text(404, `repository "${repo.name}" does not exist: create it first (restic init)`);
  if ('bytes' in outcome) x.bytes = outcome.bytes;
  answerUpload(x, repo, h, outcome, s);
}

function answerUpload(x: Exchange, repo: ClientRepo, h: Handle, o: UploadOutcome, s: RepoServices): void {
  const what = h.type === 'config' ? 'config' : `${h.type}/${h.name}`;
  switch (o.status) {
    case 'stored':
    case 'identical': {
      const labels = { client: repo.name, type: h.type };
      s.metrics.inc('holdfast_uploads_total', labels);
      s.metrics.inc('holdfast_upload_bytes_total', labels, o.bytes);
      return x.empty(200);
    }
    case 'conflict':
      return x.text(403, `${what} already exists with different content; stored objects are never overwritten`);
    case 'hash-mismatch':
      return x.text(400, `content of ${what} does not match its name (SHA-256 mismatch); nothing was stored`);
    case 'incomplete':
      return x.text(400, `request body for ${what} ended early (${o.bytes} bytes received); nothing was stored`);
    case 'over-quota': {
      const u = s.ledger.get(repo.name);
      const quota = repo.account.quota ?? 0;
      return x.text(
        507,
        `quota exceeded: client "${repo.name}" may store ${formatSize(quota)} and holds ${formatSize(u.bytes)}; ` +
          `${what} does not fit and was not stored`,
      );
    }
    case 'no-space':
      return x.text(507, `the server's disk is full; ${what} was not stored`);
  }
}

async function remove(x: Exchange, repo: ClientRepo, h: Handle, s: RepoServices): Promise<void> {
  if (repo.account.appendOnly && h.type !== 'locks') {
    return x.text(403, `client "${repo.name}" is append-only: only locks may be deleted`);
  }
  const path = repo.backend.pathOf(h);
  try {
    const { size } = await stat(path);
    await unlink(path);
    s.ledger.removed(repo.name, size);
  } catch (err) {
    // Deleting what is not there succeeds, as in rest-server: a retried delete must not fail.
    if (!isSystemError(err, 'ENOENT', 'ENOTDIR')) throw err;
  }
  // Journaled even when absent: a client repairing a lost file tells the audit it knows.
  if (h.type !== 'locks') await journalDeletion(s.data, repo.name, repoRelPath(h.type, h.type === 'config' ? '' : h.name));
  s.metrics.inc('holdfast_deletes_total', { client: repo.name, type: h.type });
  x.empty(200);
}
