// npm run bench [-- NAME...]: runs the benchmarks (all, or the named ones) and prints their
// tables; record results in docs/benchmarks.md with the machine and date.

import { cpus, totalmem } from 'node:os';
import { fileBackupBenchmark } from './file-backup.js';
import { imageBenchmark } from './image.js';
import { pruneBenchmark } from './prune.js';
import { serverBenchmark } from './server.js';

const benchmarks: Record<string, () => Promise<unknown>> = {
  file: fileBackupBenchmark,
  image: imageBenchmark,
  server: serverBenchmark,
  prune: pruneBenchmark,
};

const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : Object.keys(benchmarks);
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${new Date().toISOString()}`);
for (const name of names) {
  const run = benchmarks[name];
  if (!run) throw new Error(`unknown benchmark "${name}": choose from ${Object.keys(benchmarks).join(', ')}`);
  console.log(`\n## ${name}\n`);
  await run();
}
