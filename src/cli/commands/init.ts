// holdfast init: create a repository (restic format version 2 unless told otherwise).

import type { Command } from 'commander';
import { HoldfastError } from '../../errors.js';
import { initRepository } from '../../repository/keys.js';
import { globalsOf, outputOf } from '../global-options.js';
import { readNewPassword } from '../password.js';
import { backendFor, repositoryOptions } from '../repository.js';
import { action } from '../run.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a new repository')
    .option('--repository-version <version>', 'repository format version: 1, 2, stable or latest', 'stable')
    .action(
      action(async (opts: { repositoryVersion: string }, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        const version = { '1': 1, '2': 2, stable: 2, latest: 2 }[opts.repositoryVersion] as 1 | 2 | undefined;
        if (!version) throw new HoldfastError('ERR_INVALID_ARGUMENT', `unknown repository version "${opts.repositoryVersion}"`);
        const backend = await backendFor(g);
        const repo = await initRepository(backend, await readNewPassword(g), { ...repositoryOptions(g), version });
        // The backend's location hides any secret the -r URL carries.
        const location = backend.location;
        await repo.close();
        out.info(`created holdfast repository ${repo.config.id.slice(0, 10)} at ${location}`);
        out.info('Please note that knowledge of your password is required to access the repository. Losing your password means that your data is irrecoverably lost.');
        out.emit({ message_type: 'initialized', id: repo.config.id, repository: location, version });
      }),
    );
}
