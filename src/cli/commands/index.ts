// The list of commands. Each command lives in its own file and registers itself here.

import type { Command } from 'commander';
import { registerBackup } from './backup.js';
import { registerCat } from './cat.js';
import { registerCheck } from './check.js';
import { registerInit } from './init.js';
import { registerKey } from './key.js';
import { registerImage } from './image.js';
import { registerList } from './list.js';
import { registerRestoreImage } from './restore-image.js';
import { registerServer } from './server.js';
import { registerSnapshots } from './snapshots.js';
import { registerLs } from './ls.js';
import { registerFind } from './find.js';
import { registerDiff } from './diff.js';
import { registerStats } from './stats.js';
import { registerTag } from './tag.js';
import { registerForget } from './forget.js';
import { registerPrune } from './prune.js';
import { registerAgent } from './agent.js';
import { registerUnlock } from './unlock.js';
import { registerRebuildIndex, registerRepair } from './repair.js';
import { registerRewrite } from './rewrite.js';
import { registerCopy } from './copy.js';
import { registerRestore } from './restore.js';
import { registerDump } from './dump.js';

type Register = (program: Command) => void;

const registrations: Register[] = [registerInit, registerBackup, registerKey, registerCat, registerList, registerCheck, registerServer, registerRestoreImage, registerImage, registerSnapshots, registerLs, registerFind, registerDiff, registerStats, registerTag, registerForget];
registrations.push(registerPrune, registerUnlock, registerRebuildIndex, registerRepair, registerRewrite, registerCopy);
registrations.push(registerAgent);
registrations.push(registerRestore);
registrations.push(registerDump);

export function registerCommands(program: Command): void {
  for (const register of registrations) register(program);
}
