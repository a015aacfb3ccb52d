// Starts a worker thread from a module beside the caller's, whether holdfast runs compiled or
// from its TypeScript sources (tests under tsx).

import { type ResourceLimits, Worker } from 'node:worker_threads';

/**
 * `name` is the worker module's file name without extension (e.g. 'crypto-worker'), in the folder
 * of the module whose `import.meta.url` is `besideUrl`.
 */
export function startWorker(besideUrl: string, name: string, workerData?: unknown, resourceLimits?: ResourceLimits): Worker {
  if (!besideUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, besideUrl), { workerData, resourceLimits });
  // Loader hooks do not reach worker threads by themselves: register tsx inside the worker first.
  const entry = new URL(`./${name}.ts`, besideUrl).href;
  // Resolved here, not in the worker: an eval'd worker resolves bare names from the working directory.
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits });
}
