// holdfast agent: run scheduled plans from a YAML configuration (backup, retention, prune, check,
// hooks, webhooks); `agent status` shows how they went, `agent run PLAN` runs one now.

import { Command, Option } from 'commander';
import { appendFileSync } from 'node:fs';
import { AgentLog, type LogSink } from '../../agent/agent-log.js';
import { runAgent } from '../../agent/agent.js';
import { defaultConfigFile, loadAgentConfig } from '../../agent/config.js';
import type { JobKind } from '../../agent/config-types.js';
import { runByHand } from '../../agent/manual-run.js';
import type { RunRecord } from '../../agent/run-record.js';
import { type JobReport, statusReport } from '../../agent/status-report.js';
import { ExitCode, HoldfastError, messageOf } from '../../errors.js';
import { formatDuration, formatLocalTime } from '../../ui/format.js';
import { renderTable } from '../../ui/table.js';
import { globalsOf, outputOf } from '../global-options.js';
import { action } from '../run.js';

interface AgentCliOptions {
  config?: string;
  log?: string;
}

const configOption = () => new Option('-c, --config <file>', 'agent configuration (YAML; env HOLDFAST_AGENT_CONFIG)');

function logSink(file: string | undefined): LogSink {
  if (file !== undefined) {
    try {
      appendFileSync(file, '');
    } catch (err) {
      throw new HoldfastError('ERR_INVALID_ARGUMENT', `cannot write the log file ${file}: ${messageOf(err)}`);
    }
  }
  return new AgentLog(file).write;
}

/** The first Ctrl-C or SIGTERM stops cleanly; a second one stops at once. */
function stopOnSignals(controller: AbortController, log: LogSink): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      log(`${signal} again: stopping at once`);
      process.exit(ExitCode.interrupted);
    }
    log(`${signal} received: stopping cleanly (send it again to stop at once)`);
    controller.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}

const time = (iso: string | null | undefined) => (iso ? formatLocalTime(new Date(iso)) : '-');

function statusRows(jobs: readonly JobReport[]): string[][] {
  return jobs.map((j) => [
    j.plan,
    j.job,
    j.running ? `running since ${time(j.running.started)}` : time(j.last?.started),
    j.running ? '' : (j.last?.result ?? '-'),
    j.last && !j.running ? formatDuration(j.last.duration_seconds * 1000) : '',
    time(j.next_run),
    j.schedule ?? 'by hand',
  ]);
}

function resultLine(r: RunRecord): string {
  const took = formatDuration(r.duration_seconds * 1000);
  if (r.result === 'success') return `${r.plan} ${r.job}: success in ${took}${r.snapshot_id ? `, snapshot ${r.snapshot_id.slice(0, 8)} saved` : ''}`;
  return `${r.plan} ${r.job}: failure after ${took}: ${r.error}`;
}

export function registerAgent(program: Command): void {
  const agent = program
    .command('agent')
    .description('run the plans of an agent configuration on their schedules (see also: agent status, agent run)')
    .addOption(configOption())
    .option('--log <file>', 'append the log here instead of writing it to stdout (overrides log: in the configuration)')
    .action(
      action(async (opts: AgentCliOptions) => {
        const config = await loadAgentConfig(opts.config ?? defaultConfigFile());
        const log = logSink(opts.log ?? config.log);
        const controller = new AbortController();
        const forget = stopOnSignals(controller, log);
        try {
          await runAgent(config, controller.signal, { log });
        } finally {
          forget();
        }
      }),
    );

  agent
    .command('validate')
    .description('check the configuration and exit: every problem is listed with its line')
    .addOption(configOption())
    .action(
      action(async (_opts: AgentCliOptions, cmd: Command) => {
        const g = globalsOf(cmd) as ReturnType<typeof globalsOf> & AgentCliOptions;
        const config = await loadAgentConfig(g.config ?? defaultConfigFile());
        outputOf(g).info(`${config.file}: ${config.plans.length} plan(s), no problems`);
      }),
    );

  agent
    .command('status')
    .description('show for each plan the last run, its result and duration, and the next run')
    .addOption(configOption())
    .action(
      action(async (_opts: AgentCliOptions, cmd: Command) => {
        const g = globalsOf(cmd) as ReturnType<typeof globalsOf> & AgentCliOptions;
        const out = outputOf(g);
        const report = await statusReport(await loadAgentConfig(g.config ?? defaultConfigFile()));
        if (out.json) return out.emit(report);
        const a = report.agent;
        out.info(a.running ? `agent running (pid ${a.pid}, since ${time(a.since)})` : 'agent not running (next runs: when it would run them)');
        const columns = ['PLAN', 'JOB', 'LAST RUN', 'RESULT', 'DURATION', 'NEXT RUN', 'SCHEDULE'].map((title) => ({ title }));
        out.info(renderTable(columns, statusRows(report.jobs)));
        for (const j of report.jobs) {
          // Also while the job runs again: the last run's error is what a user looks for.
          if (j.last?.error) out.info(`${j.plan} ${j.job}: ${j.last.error}`);
          if (j.last?.result === 'failure' && j.last_success) out.info(`${j.plan} ${j.job}: last success ${time(j.last_success)}`);
        }
      }),
    );

  agent
    .command('run <plan>')
    .description('run a plan now: through the agent when it runs (queued with its other runs), else right here')
    .addOption(configOption())
    .addOption(new Option('--job <job>', 'what to run').choices(['backup', 'prune', 'check']).default('backup'))
    .option('--log <file>', 'for a run made here: append the log to this file (default: log: of the configuration, else stderr)')
    .option('--no-wait', 'when the agent runs it: return as soon as it has the request')
    .action(
      action(async (plan: string, _opts: AgentCliOptions, cmd: Command) => {
        const g = globalsOf(cmd) as ReturnType<typeof globalsOf> & AgentCliOptions & { job: JobKind; wait: boolean };
        const out = outputOf(g);
        const config = await loadAgentConfig(g.config ?? defaultConfigFile());
        const file = g.log ?? config.log;
        const log = file !== undefined ? logSink(file) : (line: string) => (g.quiet ? undefined : process.stderr.write(`${line}\n`));
        const controller = new AbortController();
        const forget = stopOnSignals(controller, log);
        try {
          const outcome = await runByHand(config, plan, g.job, { log, env: process.env, signal: controller.signal, wait: g.wait });
          if (outcome.via === 'agent') out.info(`the agent (pid ${outcome.pid}) has the request ${outcome.requestId}`);
          const record = outcome.record;
          if (!record) return ExitCode.ok;
          if (out.json) out.emit(record);
          else out.info(resultLine(record));
          return record.result === 'success' ? ExitCode.ok : ExitCode.fatal;
        } finally {
          forget();
        }
      }),
    );
}
