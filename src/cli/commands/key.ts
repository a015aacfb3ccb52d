// holdfast key list|add|remove|passwd: manage the passwords (key files) that open a repository.

import type { Command } from 'commander';
import { goTimeToDate } from '../../format/go-json.js';
import { addKey, changePassword, listKeys, removeKey } from '../../repository/keys.js';
import { formatLocalTime } from '../../ui/format.js';
import { renderTable } from '../../ui/table.js';
import { globalsOf, outputOf } from '../global-options.js';
import { readNewPassword } from '../password.js';
import { withRepository } from '../repository.js';
import { action } from '../run.js';

interface NewKeyOptions {
  newPasswordFile?: string;
  user?: string;
  host?: string;
}

function newPassword(opts: NewKeyOptions): Promise<string> {
  // A new password comes from --new-password-file or the terminal, never from the current password's sources.
  return readNewPassword({ passwordFile: opts.newPasswordFile, passwordCommand: undefined }, 'the new key');
}

export function registerKey(program: Command): void {
  const key = program.command('key').description('manage the keys (passwords) of a repository');

  key
    .command('list')
    .description('list keys')
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        await withRepository(g, { lock: 'shared' }, async (repo) => {
          const keys = await listKeys(repo);
          if (out.json) {
            out.emit(keys.map((k) => ({ current: k.current, id: k.id, userName: k.username, hostName: k.hostname, created: formatLocalTime(goTimeToDate(k.created)) })));
            return;
          }
          const rows = keys.map((k) => [(k.current ? '*' : ' ') + k.id.slice(0, 8), k.username, k.hostname, formatLocalTime(goTimeToDate(k.created))]);
          out.info(renderTable([{ title: ' ID' }, { title: 'User' }, { title: 'Host' }, { title: 'Created' }], rows));
        });
      }),
    );

  const withNewKeyOptions = (c: Command) =>
    c
      .option('--new-password-file <file>', 'read the new password from a file')
      .option('--user <name>', 'user name recorded in the new key')
      .option('--host <name>', 'host name recorded in the new key');

  withNewKeyOptions(key.command('add').description('add a new key (password) to the repository')).action(
    action(async (opts: NewKeyOptions, cmd: Command) => {
      const g = globalsOf(cmd);
      const out = outputOf(g);
      await withRepository(g, { lock: 'shared' }, async (repo) => {
        const who: { username?: string; hostname?: string } = {};
        if (opts.user !== undefined) who.username = opts.user;
        if (opts.host !== undefined) who.hostname = opts.host;
        const id = await addKey(repo, await newPassword(opts), who);
        out.info(`saved new key as ${id.slice(0, 8)}`);
        out.emit({ message_type: 'key_added', id });
      });
    }),
  );

  key
    .command('remove <id>')
    .description('remove a key (not the one in use)')
    .action(
      action(async (prefix: string, _opts: unknown, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = outputOf(g);
        await withRepository(g, { lock: 'exclusive' }, async (repo) => {
          const id = await repo.resolvePrefix('keys', prefix);
          await removeKey(repo, id);
          out.info(`removed key ${id.slice(0, 8)}`);
          out.emit({ message_type: 'key_removed', id });
        });
      }),
    );

  withNewKeyOptions(key.command('passwd').description('change the password of the key in use')).action(
    action(async (opts: NewKeyOptions, cmd: Command) => {
      const g = globalsOf(cmd);
      const out = outputOf(g);
      await withRepository(g, { lock: 'exclusive' }, async (repo) => {
        const id = await changePassword(repo, await newPassword(opts));
        out.info(`saved new key as ${id.slice(0, 8)}`);
        out.emit({ message_type: 'key_changed', id });
      });
    }),
  );
}
