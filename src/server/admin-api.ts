// The admin API: read-only JSON about clients, storage use and audits, for dashboards and scripts.
// Account changes stay with `holdfast server client ...`, which edits the file the server watches.

import type { ClientInfo } from './accounts.js';
import type { AuditSummary } from './audit-store.js';
import type { Exchange } from './exchange.js';
import type { ClientUsage } from './usage.js';

export interface AdminView {
  clients(): ClientInfo[];
  usage(client: string): ClientUsage;
  auditStatus(): Promise<AuditStatus>;
}

export interface AuditStatus {
  readonly running: boolean;
  readonly everyMs: number;
  readonly nextRun: string | null;
  readonly clients: readonly AuditSummary[];
}

export async function handleAdmin(x: Exchange, resource: string, view: AdminView): Promise<void> {
  x.kind = `admin:${resource}`;
  if (x.method !== 'GET') return x.methodNotAllowed('GET');
  switch (resource) {
    case 'clients':
      return x.json(
        200,
        view.clients().map((c) => {
          const u = view.usage(c.name);
          return { ...c, storedBytes: u.bytes, storedFiles: u.files };
        }),
      );
    case 'usage': {
      const clients = view.clients().map((c) => {
        const u = view.usage(c.name);
        return { name: c.name, storedBytes: u.bytes, storedFiles: u.files, quota: c.quota };
      });
      return x.json(200, { totalBytes: clients.reduce((sum, c) => sum + c.storedBytes, 0), clients });
    }
    case 'audit':
      return x.json(200, await view.auditStatus());
    default:
      return x.text(404, 'not found: the admin API has /-/admin/clients, /-/admin/usage and /-/admin/audit');
  }
}
