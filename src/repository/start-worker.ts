// Starts one of this layer's worker threads from its module, whether holdfast runs compiled or
// from its TypeScript sources (tests under tsx).

import { Worker } from 'node:worker_threads';

const fromSources = import.meta.url.endsWith('.ts');

/** `name` is the module's file name in this folder without extension, e.g. 'crypto-worker'. */
export function startWorker(name: string, workerData?: unknown): Worker {
  if (!fromSources) return new Worker(new URL(`./${name}.js`, import.meta.url), { workerData });
  // Loader hooks do not reach worker threads by themselves: register tsx inside the worker first.
  const entry = new URL(`./${name}.ts`, import.meta.url).href;
  // Resolved here, not in the worker: an eval'd worker resolves bare names from the working directory.
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
