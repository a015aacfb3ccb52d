// holdfast cat: print the decrypted content of one repository object, for inspection and debugging.

import type { Command } from 'commander';
import { HoldfastError } from '../../errors.js';
import { encodeConfig } from '../../format/config.js';
import { isId } from '../../format/id.js';
import { encodeMasterKey } from '../../format/key-file.js';
import type { BlobType } from '../../format/pack.js';
import type { Repository } from '../../repository/repository.js';
import { globalsOf, outputOf } from '../global-options.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';

const types = ['config', 'masterkey', 'index', 'snapshot', 'key', 'lock', 'tree', 'blob', 'pack'] as const;
type CatType = (typeof types)[number];

function pretty(json: Buffer): string {
  return JSON.stringify(JSON.parse(json.toString('utf8')), null, 2) + '\n';
}

async function resolveBlob(repo: Repository, prefix: string, only?: BlobType): Promise<{ type: BlobType; id: string }> {
  if (!isId(prefix)) throw new HoldfastError('ERR_INVALID_ARGUMENT', `blob ids must be given in full (64 hex characters), got "${prefix}"`);
  await repo.loadIndex();
  for (const type of only ? [only] : (['data', 'tree'] as const)) if (repo.index.has(type, prefix)) return { type, id: prefix };
  throw new HoldfastError('ERR_NOT_FOUND', `blob ${prefix} is not in the index`);
}

async function cat(repo: Repository, type: CatType, id: string | undefined): Promise<string | Buffer> {
  const need = () => {
    if (!id) throw new HoldfastError('ERR_INVALID_ARGUMENT', `cat ${type} needs an id`);
    return id;
  };
  switch (type) {
    case 'config':
      return pretty(encodeConfig(repo.config));
    case 'masterkey':
      return pretty(encodeMasterKey(repo.key));
    case 'index':
      return repo.loadUnpacked('index', await repo.resolvePrefix('index', need()));
    case 'snapshot':
      return repo.loadUnpacked('snapshots', await repo.resolvePrefix('snapshots', need()));
    case 'lock':
      return repo.loadUnpacked('locks', await repo.resolvePrefix('locks', need()));
    case 'key':
      return pretty(await repo.backend.read({ type: 'keys', name: await repo.resolvePrefix('keys', need()) }));
    case 'pack':
      return repo.backend.read({ type: 'data', name: await repo.resolvePrefix('data', need()) });
    case 'tree':
    case 'blob': {
      const blob = await resolveBlob(repo, need(), type === 'tree' ? 'tree' : undefined);
      return repo.loadBlob(blob.type, blob.id);
    }
  }
}

export function registerCat(program: Command): void {
  program
    .command('cat <type> [id]')
    .description(`print an object: ${types.join(', ')}`)
    .action(
      action(async (type: string, id: string | undefined, _opts: unknown, cmd: Command) => {
        if (!(types as readonly string[]).includes(type)) {
          throw new HoldfastError('ERR_INVALID_ARGUMENT', `cannot cat "${type}": choose one of ${types.join(', ')}`);
        }
        const g = globalsOf(cmd);
        await withRepository(g, { lock: 'none' }, async (repo) => {
          outputOf(g).raw(await cat(repo, type as CatType, id));
        });
      }),
    );
}
