// Webhook notifications: a JSON POST per configured URL whose `on` list has the run's result,
// with a timeout; a failed delivery is logged (by origin only: paths often hold tokens), never retried.

import { hostname } from 'node:os';
import { programVersion } from '../backup/backup.js';
import { messageOf } from '../errors.js';
import type { LogSink } from './agent-log.js';
import type { WebhookConfig } from './config-types.js';
import type { RunRecord } from './run-record.js';

/** What a webhook receives: the run record, and which machine and program sent it. */
export function webhookBody(record: RunRecord, host = hostname()): Record<string, unknown> {
  return { ...record, host, agent: programVersion };
}

async function post(hook: WebhookConfig, body: string): Promise<void> {
  const response = await fetch(hook.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': programVersion.replace(' ', '/'), ...hook.headers },
    body,
    signal: AbortSignal.timeout(hook.timeoutMs),
  });
  // The body is not needed; reading it lets the connection be reused or closed.
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
}

export async function notify(hooks: readonly WebhookConfig[], record: RunRecord, log: LogSink): Promise<void> {
  const wanted = hooks.filter((h) => h.on.has(record.result));
  if (wanted.length === 0) return;
  const body = JSON.stringify(webhookBody(record));
  await Promise.all(
    wanted.map(async (hook) => {
      const where = new URL(hook.url).origin;
      try {
        await post(hook, body);
        log(`[${record.plan}] notified ${where} (${record.result})`);
      } catch (err) {
        // fetch reports "fetch failed"; what failed (refused, unknown host) is in its cause.
        const cause = err instanceof Error && err.cause !== undefined ? messageOf(err.cause) : messageOf(err);
        const reason = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${hook.timeoutMs / 1000}s` : cause;
        log(`[${record.plan}] notification to ${where} failed: ${reason}`);
      }
    }),
  );
}
