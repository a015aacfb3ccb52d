// Runs the Backend contract against the local directory backend and against the REST backend
// talking to a real holdfast server on 127.0.0.1.

import { join } from 'node:path';
import { LocalBackend } from '../../src/backend/local.js';
import { RestBackend } from '../../src/backend/rest.js';
import { tempDir } from '../helpers/tmp.js';
import { startServer } from '../server/harness.js';
import { backendContract } from './contract.js';

backendContract('local', async (t) => new LocalBackend(join(await tempDir(t), 'repo')));

backendContract('rest', async (t) => {
  const s = await startServer(t);
  const { repo } = await s.addClient('contract');
  const b = await RestBackend.open(repo, { retries: 0 });
  t.after(() => b.close());
  return b;
});
