// Runs the audit inside the server every --audit-every, one run at a time, and stops it cleanly
// when the server closes. Results go to the audit store (history, status, metrics) and the log.

import { messageOf } from '../errors.js';
import { type AuditResult, auditClients } from './audit.js';
import type { DataDir } from './data-dir.js';
import type { RequestLog } from './request-log.js';

export interface AuditSchedule {
  /** 0 disables scheduled runs. */
  readonly everyMs: number;
  readonly rateBytesPerSec: number;
  readonly reverifyAfterMs: number;
}

export class AuditScheduler {
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<AuditResult> | null = null;
  private readonly abort = new AbortController();
  private next: Date | null = null;

  constructor(
    private readonly data: DataDir,
    private readonly schedule: AuditSchedule,
    private readonly clients: () => string[],
    private readonly log: RequestLog,
  ) {}

  get running(): boolean {
    return this.current !== null;
  }

  get nextRun(): Date | null {
    return this.next;
  }

  get everyMs(): number {
    return this.schedule.everyMs;
  }

  start(): void {
    if (this.schedule.everyMs <= 0) return;
    this.next = new Date(Date.now() + this.schedule.everyMs);
    this.timer = setTimeout(() => {
      this.runNow()
        .catch((err) => this.log.event('audit-failed', { message: messageOf(err) }))
        .finally(() => {
          if (!this.abort.signal.aborted) this.start();
        });
    }, this.schedule.everyMs);
    this.timer.unref();
  }

  /** Starts a run of the given clients (all by default), or joins the run already under way. */
  runNow(only?: string): Promise<AuditResult> {
    if (this.current) return this.current;
    const clients = only ? [only] : this.clients();
    const run = auditClients(this.data, clients, { ...this.schedule, signal: this.abort.signal });
    this.current = run.finally(() => {
      this.current = null;
    });
    run.then(
      (r) => {
        for (const a of r.runs) {
          const { client, filesChecked, filesSkipped, bytesRead, problems } = a;
          this.log.event('audit', { client, filesChecked, filesSkipped, bytesRead, problems: problems.length });
          for (const p of problems) this.log.event('audit-problem', { ...p });
        }
        for (const s of r.skipped) this.log.event('audit-skipped', s);
      },
      () => undefined,
    );
    return this.current;
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.next = null;
    this.abort.abort();
    await this.current?.catch(() => undefined);
  }
}
