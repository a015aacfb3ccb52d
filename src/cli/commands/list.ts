// holdfast list: the ids of all objects of one kind, one per line.

import type { Command } from 'commander';
import type { FileType } from '../../backend/backend.js';
import { HoldfastError } from '../../errors.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';

const fileKinds: Record<string, FileType> = { packs: 'data', index: 'index', snapshots: 'snapshots', keys: 'keys', locks: 'locks' };

export function registerList(program: Command): void {
  program
    .command('list <kind>')
    .description('list object ids: packs, index, snapshots, keys, locks or blobs')
    .action(
      action(async (kind: string, _opts: unknown, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        const fileType = fileKinds[kind];
        if (!fileType && kind !== 'blobs') {
          throw new HoldfastError('ERR_INVALID_ARGUMENT', `cannot list "${kind}": choose packs, index, snapshots, keys, locks or blobs`);
        }
        await withRepository(g, { lock: kind === 'locks' ? 'none' : 'shared' }, async (repo) => {
          if (fileType) {
            for await (const f of repo.list(fileType)) out.raw(f.name + '\n');
            return;
          }
          await repo.loadIndex();
          for (const b of repo.index.entries()) out.raw(`${b.type} ${b.id}\n`);
        });
      }),
    );
}
