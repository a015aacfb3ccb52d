// holdfast server [init|client|audit]: run the REST server for many clients and manage its accounts
// and audits. Each subcommand parses its options, calls one function of src/server/ and prints.

import type { Command } from 'commander';
import { invalidArgument } from '../../errors.js';
import { addClient, initDataDir, listClients, readAccounts, removeClient, setClient } from '../../server/accounts.js';
import { auditClients } from '../../server/audit.js';
import { type AuditRun, readSummary } from '../../server/audit-store.js';
import { checkClientName } from '../../server/client-name.js';
import { dataDir } from '../../server/data-dir.js';
import { parseListen } from '../../server/listen-address.js';
import { clientRepositoryUrl, serverBaseUrl } from '../../server/repository-url.js';
import { HoldfastServer } from '../../server/server.js';
import { parseDuration, parseSize } from '../../server/units.js';
import { formatBytes, formatLocalTime } from '../../ui/format.js';
import type { Output } from '../../ui/output.js';
import { renderTable } from '../../ui/table.js';
import { globalsOf, outputOf } from '../global-options.js';
import { action } from '../run.js';

interface ServerOptions {
  data?: string;
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  log: string;
  auditEvery: string;
  auditRate?: string;
  reverifyAfter: string;
  metricsNoAuth?: boolean;
  idleTimeout: string;
  headerTimeout: string;
}

function serverOptionsOf(cmd: Command): ServerOptions {
  return cmd.optsWithGlobals() as ServerOptions;
}

function dataDirOf(cmd: Command): string {
  const d = serverOptionsOf(cmd).data ?? process.env.HOLDFAST_SERVER_DATA;
  if (!d) throw invalidArgument('no data directory: give --data DIR (or set HOLDFAST_SERVER_DATA)');
  return d;
}

function auditRate(o: ServerOptions): number {
  if (o.auditRate === undefined) return 0;
  const mbps = Number(o.auditRate);
  if (!(mbps > 0)) throw invalidArgument(`invalid --audit-rate "${o.auditRate}": give megabytes per second, e.g. 50`);
  return mbps * 1_000_000;
}

function reverifyAfter(o: ServerOptions): number {
  const days = Number(o.reverifyAfter);
  if (!(days >= 0)) throw invalidArgument(`invalid --reverify-after "${o.reverifyAfter}": give a number of days`);
  return days * 86_400_000;
}

function quotaOf(text: string | undefined): number | null | undefined {
  if (text === undefined) return undefined;
  return text === 'none' ? null : parseSize(text);
}

function describeQuota(quota: number | null): string {
  return quota === null ? 'none' : formatBytes(quota);
}

export function registerServer(program: Command): void {
  const server = program
    .command('server')
    .description('run the holdfast server (restic REST protocol, one repository per client) and manage it')
    .option('--data <dir>', 'server data directory: accounts, repositories, audit records (env HOLDFAST_SERVER_DATA)')
    .option('--listen <addr:port>', 'address to listen on', ':8000')
    .option('--tls-cert <file>', 'PEM certificate (chain); serve https')
    .option('--tls-key <file>', 'PEM private key of the certificate')
    .option('--log <file>', 'request log as JSON lines: a file to append to, "-" for stdout, "off"', '-')
    .option('--audit-every <duration>', 'how often to audit every repository (e.g. 10s, 5m, 24h; 0 = never)', '24h')
    .option('--audit-rate <MB/s>', 'read at most this many megabytes per second while auditing')
    .option('--reverify-after <days>', 're-read unchanged files verified more than this many days ago', '30')
    .option('--metrics-no-auth', 'serve /metrics without the admin credential')
    .option('--idle-timeout <duration>', 'close connections that transfer nothing for this long', '60s')
    .option('--header-timeout <duration>', 'close connections whose request headers take longer', '30s')
    .action(action(async (_opts: unknown, cmd: Command) => runServer(cmd)));

  server
    .command('init')
    .description('create a data directory and its admin credential (printed once)')
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const out = outputOf(globalsOf(cmd));
        const r = await initDataDir(dataDirOf(cmd));
        out.emit({ message_type: 'server_init', dataDir: r.dataDir, created: r.adminSecret !== null, adminUser: 'admin', adminSecret: r.adminSecret });
        if (r.adminSecret === null) {
          out.info(`${r.dataDir} is already a server data directory; its admin credential is unchanged`);
          return;
        }
        out.info(`created server data directory ${r.dataDir}`);
        printAdminSecret(out, r.adminSecret);
      }),
    );

  registerClientCommands(server);
  registerAuditCommands(server);
}

function printAdminSecret(out: Output, secret: string): void {
  out.info(`admin credential (shown only now, store it safely): user "admin", secret ${secret}`);
}

async function runServer(cmd: Command): Promise<void> {
  const o = serverOptionsOf(cmd);
  const out = outputOf(globalsOf(cmd));
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw invalidArgument('--tls-cert and --tls-key go together');
  const { host, port } = parseListen(o.listen);
  const server = await HoldfastServer.start({
    dataDir: dataDirOf(cmd),
    host,
    port,
    tls: o.tlsCert && o.tlsKey ? { certFile: o.tlsCert, keyFile: o.tlsKey } : undefined,
    log: o.log === '-' ? null : o.log,
    auditEveryMs: parseDuration(o.auditEvery),
    auditRateBytesPerSec: auditRate(o),
    reverifyAfterMs: reverifyAfter(o),
    metricsNoAuth: o.metricsNoAuth === true,
    idleTimeoutMs: parseDuration(o.idleTimeout),
    headersTimeoutMs: parseDuration(o.headerTimeout),
  });
  // Status goes to stderr: stdout may be the request log.
  if (server.adminSecretCreated) {
    process.stderr.write(`created server data directory; admin credential (shown only now): user "admin", secret ${server.adminSecretCreated}\n`);
  }
  if (!out.options.quiet) process.stderr.write(`holdfast server listening on ${server.url}\n`);
  process.on('SIGHUP', () => void server.reloadAccounts());
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
}

function registerClientCommands(server: Command): void {
  const client = server.command('client').description('manage the clients of a server (takes effect on a running server)');

  client
    .command('add <name>')
    .description('add a client; prints its repository URL and secret once')
    .option('--append-only', 'the client may add but never delete (except locks)')
    .option('--quota <size>', 'bytes its repository may hold, e.g. 500G')
    .option('--url <url>', 'server URL to put in the repository URL (default: where the server last listened)')
    .action(
      action(async (name: string, opts: { appendOnly?: boolean; quota?: string; url?: string }, cmd: Command) => {
        const out = outputOf(globalsOf(cmd));
        checkClientName(name);
        const d = dataDir(dataDirOf(cmd));
        const c = await addClient(d, name, { appendOnly: opts.appendOnly === true, quota: quotaOf(opts.quota) ?? null });
        const url = clientRepositoryUrl(await serverBaseUrl(d, opts.url), c.name, c.secret);
        out.emit({ message_type: 'client_added', name: c.name, appendOnly: c.appendOnly, quota: c.quota, secret: c.secret, repository: url });
        out.info(`added client "${c.name}" (append-only: ${c.appendOnly ? 'yes' : 'no'}, quota: ${describeQuota(c.quota)})`);
        out.info('its secret is shown only now; store it safely:');
        out.info(`  secret:     ${c.secret}`);
        out.info(`  repository: ${url}`);
      }),
    );

  client
    .command('list')
    .description('list clients')
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const out = outputOf(globalsOf(cmd));
        const clients = await listClients(dataDir(dataDirOf(cmd)));
        out.emit(clients);
        const rows = clients.map((c) => [c.name, c.appendOnly ? 'yes' : 'no', describeQuota(c.quota), formatLocalTime(new Date(c.created))]);
        out.info(renderTable([{ title: 'Client' }, { title: 'Append-only' }, { title: 'Quota', align: 'right' }, { title: 'Created' }], rows));
      }),
    );

  client
    .command('remove <name>')
    .description('remove a client account (its repository stays on disk)')
    .action(
      action(async (name: string, _opts: unknown, cmd: Command) => {
        const out = outputOf(globalsOf(cmd));
        await removeClient(dataDir(dataDirOf(cmd)), name);
        out.emit({ message_type: 'client_removed', name });
        out.info(`removed client "${name}"; its repository was left on disk`);
      }),
    );

  client
    .command('set <name>')
    .description('change a client: append-only, quota')
    .option('--append-only', 'make the client append-only')
    .option('--no-append-only', 'allow the client to delete again')
    .option('--quota <size>', 'new quota, e.g. 500G, or "none"')
    .action(
      action(async (name: string, opts: { appendOnly?: boolean; quota?: string }, cmd: Command) => {
        const out = outputOf(globalsOf(cmd));
        const c = await setClient(dataDir(dataDirOf(cmd)), name, { appendOnly: opts.appendOnly, quota: quotaOf(opts.quota) });
        out.emit({ message_type: 'client_changed', ...c });
        out.info(`client "${c.name}": append-only: ${c.appendOnly ? 'yes' : 'no'}, quota: ${describeQuota(c.quota)}`);
      }),
    );
}

function printRun(out: Output, run: AuditRun): void {
  const verdict = run.problems.length === 0 ? 'clean' : `${run.problems.length} problem(s)`;
  out.info(
    `${run.client}: ${verdict}; ${run.filesChecked} files read (${formatBytes(run.bytesRead)}), ${run.filesSkipped} unchanged and recently verified`,
  );
  for (const p of run.problems) out.info(`  ${p.client} ${p.file}: ${p.kind}: ${p.detail}`);
}

function registerAuditCommands(server: Command): void {
  const audit = server
    .command('audit')
    .description('re-read stored files now and check them against their names (no keys needed)')
    .option('--client <name>', 'audit only this client')
    .action(
      action(async (opts: { client?: string }, cmd: Command) => {
        const o = serverOptionsOf(cmd);
        const out = outputOf(globalsOf(cmd));
        const d = dataDir(dataDirOf(cmd));
        const accounts = await readAccounts(d);
        if (opts.client !== undefined && !Object.hasOwn(accounts.clients, opts.client)) {
          throw invalidArgument(`no client "${opts.client}" (see "holdfast server client list")`);
        }
        const clients = opts.client !== undefined ? [opts.client] : Object.keys(accounts.clients).sort();
        const r = await auditClients(d, clients, { rateBytesPerSec: auditRate(o), reverifyAfterMs: reverifyAfter(o) });
        for (const run of r.runs) {
          out.emit({ message_type: 'audit', ...run });
          printRun(out, run);
        }
        for (const s of r.skipped) out.warn(`${s.client}: ${s.reason}`);
        const problems = r.runs.reduce((n, run) => n + run.problems.length, 0);
        return problems > 0 || r.skipped.length > 0 ? 1 : 0;
      }),
    );

  audit
    .command('status')
    .description('show the last audit of every client')
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const out = outputOf(globalsOf(cmd));
        const d = dataDir(dataDirOf(cmd));
        const accounts = await readAccounts(d);
        const summaries = [];
        for (const name of Object.keys(accounts.clients).sort()) summaries.push(await readSummary(d, name));
        out.emit(summaries);
        const when = (iso: string | null | undefined) => (iso ? formatLocalTime(new Date(iso)) : 'never');
        const rows = summaries.map((s) => [
          s.client,
          when(s.lastRun?.finished),
          s.lastRun ? String(s.lastRun.filesChecked) : '',
          s.lastRun ? String(s.lastRun.problems.length) : '',
          when(s.lastClean),
        ]);
        out.info(
          renderTable(
            [{ title: 'Client' }, { title: 'Last audit' }, { title: 'Files read', align: 'right' }, { title: 'Problems', align: 'right' }, { title: 'Last clean' }],
            rows,
          ),
        );
        for (const s of summaries) for (const p of s.lastRun?.problems ?? []) out.info(`  ${p.client} ${p.file}: ${p.kind}: ${p.detail}`);
      }),
    );
}
