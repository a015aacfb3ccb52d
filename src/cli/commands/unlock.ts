// holdfast unlock: remove stale locks (their process on this host is gone, or they were not
// refreshed for 30 minutes), or with --remove-all every lock, as restic unlock does.

import type { Command } from 'commander';
import { formatGoTime } from '../../format/go-json.js';
import { shortId } from '../../format/id.js';
import { type LockEntry, unlockRepository } from '../../maintenance/unlock.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';

function describe(l: LockEntry): string {
  if (!l.doc) return `lock ${shortId(l.id)}: unreadable (${l.problem ?? 'unknown problem'})`;
  const kind = l.doc.exclusive ? 'exclusive' : 'shared';
  return `lock ${shortId(l.id)}: ${kind}, PID ${l.doc.pid} on ${l.doc.hostname} by ${l.doc.username || 'unknown user'} since ${formatGoTime(l.doc.time)}${l.stale ? ' (stale)' : ''}`;
}

export function registerUnlock(program: Command): void {
  program
    .command('unlock')
    .description('remove locks other processes created: stale ones, or all with --remove-all')
    .option('--remove-all', 'remove all locks, even non-stale ones')
    .action(
      action(async (opts: { removeAll?: boolean }, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        await withRepository(g, { lock: 'none' }, async (repo) => {
          const result = await unlockRepository(repo, { all: opts.removeAll === true });
          for (const l of result.removed) out.verbose(`removed ${describe(l)}`);
          for (const l of result.kept) out.verbose(`kept ${describe(l)}`);
          out.emit({ message_type: 'summary', removed: result.removed.map((l) => l.id), kept: result.kept.map((l) => l.id) });
          out.info('successfully removed locks');
        });
      }),
    );
}
