// Builds the optional native addon (native/: the allocator tuning) at install time. holdfast works
// without it, using more memory, so a build that cannot run here (no compiler, no Node headers)
// is a note, not a failed install.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const native = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');
// npm names the node-gyp it bundles; outside npm, one on the PATH.
const gyp = process.env.npm_config_node_gyp;
const [command, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const r = spawnSync(command, args, { cwd: native, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
if (r.status !== 0) {
  // node-gyp's first error line names the step that failed (configure, build); the rest is its stack.
  const step = r.stderr.split('\n').find((l) => /^gyp ERR! (?!stack|System|command|cwd|node|not ok)/.test(l));
  const why = r.error?.message ?? (step ? `node-gyp: ${step.replace(/^gyp ERR! /, '').trim()}` : `exit code ${r.status}`);
  console.error(`holdfast: the native allocator tuning was not built (${why}); holdfast works without it, using more memory`);
}
