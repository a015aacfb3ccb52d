#!/usr/bin/env node
// The holdfast command: builds the command tree from one file per command and runs it.
// Every command is a thin shell: parse options, call one library function, render the result.

import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { addGlobalOptions } from './global-options.js';
import { handleFatal } from './run.js';

const program = new Command('holdfast')
  .description('Backups of files and disk images into restic-compatible repositories, locally or to a holdfast server.')
  .version(process.env.npm_package_version ?? '0.1.0', '-V, --version')
  .showHelpAfterError('(run with --help for usage)')
  .configureHelp({ sortSubcommands: true });

// A reader that stops early (`holdfast list blobs | head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

addGlobalOptions(program);
await registerCommands(program, process.argv.slice(2));

program.parseAsync(process.argv).catch(handleFatal);
