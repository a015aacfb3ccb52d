// The list of commands. Each command lives in its own file and registers itself here. A run loads
// only the file of the command it runs: loading all of them, with their libraries, costs several
// times Node's own start-up, on every invocation.

import type { Command } from 'commander';

type Register = (program: Command) => void;

const commands: Record<string, () => Promise<Register>> = {
  init: async () => (await import('./init.js')).registerInit,
  backup: async () => (await import('./backup.js')).registerBackup,
  key: async () => (await import('./key.js')).registerKey,
  cat: async () => (await import('./cat.js')).registerCat,
  list: async () => (await import('./list.js')).registerList,
  check: async () => (await import('./check.js')).registerCheck,
  server: async () => (await import('./server.js')).registerServer,
  'restore-image': async () => (await import('./restore-image.js')).registerRestoreImage,
  image: async () => (await import('./image.js')).registerImage,
  snapshots: async () => (await import('./snapshots.js')).registerSnapshots,
  ls: async () => (await import('./ls.js')).registerLs,
  find: async () => (await import('./find.js')).registerFind,
  diff: async () => (await import('./diff.js')).registerDiff,
  stats: async () => (await import('./stats.js')).registerStats,
  tag: async () => (await import('./tag.js')).registerTag,
  forget: async () => (await import('./forget.js')).registerForget,
  prune: async () => (await import('./prune.js')).registerPrune,
  unlock: async () => (await import('./unlock.js')).registerUnlock,
  'rebuild-index': async () => (await import('./repair.js')).registerRebuildIndex,
  repair: async () => (await import('./repair.js')).registerRepair,
  rewrite: async () => (await import('./rewrite.js')).registerRewrite,
  copy: async () => (await import('./copy.js')).registerCopy,
  agent: async () => (await import('./agent.js')).registerAgent,
  restore: async () => (await import('./restore.js')).registerRestore,
  dump: async () => (await import('./dump.js')).registerDump,
};

/**
 * Registers the command `args` (the arguments after the program name) runs, or every command
 * when it names none that exists (help, a typo commander suggests a fix for). `program` must
 * already have its global options, which tell the command word from an option's value.
 */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const word = commandWord(program, args);
  const chosen = word !== undefined && Object.hasOwn(commands, word) ? [commands[word]!] : Object.values(commands);
  const registers = await Promise.all(chosen.map((load) => load()));
  for (const register of registers) register(program);
}

function commandWord(program: Command, args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return args[i + 1];
    if (!arg.startsWith('-') || arg === '-') return arg;
    if (arg.includes('=')) continue;
    const option = program.options.find((o) => o.short === arg || o.long === arg);
    if (option?.required) i++;
  }
  return undefined;
}
