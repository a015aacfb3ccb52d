// Tests of the kernel choice: the HOLDFAST_CHUNKER_KERNEL override, and the automatic fallback
// to the TypeScript kernel in a runtime without WebAssembly (node --jitless).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { Chunker } from '../../src/chunker/index.js';
import { HoldfastError } from '../../src/errors.js';

const POL = 0x3da3358b4dc173n;

function withEnv(value: string | undefined, fn: () => void): void {
  const saved = process.env.HOLDFAST_CHUNKER_KERNEL;
  if (value === undefined) delete process.env.HOLDFAST_CHUNKER_KERNEL;
  else process.env.HOLDFAST_CHUNKER_KERNEL = value;
  try {
    fn();
  } finally {
    if (saved === undefined) delete process.env.HOLDFAST_CHUNKER_KERNEL;
    else process.env.HOLDFAST_CHUNKER_KERNEL = saved;
  }
}

test('auto picks wasm; the environment variable can force either kernel', () => {
  withEnv(undefined, () => assert.equal(new Chunker(POL).kernel, 'wasm'));
  withEnv('ts', () => assert.equal(new Chunker(POL).kernel, 'ts'));
  withEnv('wasm', () => assert.equal(new Chunker(POL).kernel, 'wasm'));
  // An explicit option wins over the environment.
  withEnv('ts', () => assert.equal(new Chunker(POL, { kernel: 'wasm' }).kernel, 'wasm'));
  withEnv('simd', () =>
    assert.throws(() => new Chunker(POL), (err: unknown) => err instanceof HoldfastError && err.code === 'ERR_INVALID_ARGUMENT'),
  );
});

test('without WebAssembly, auto falls back to the TypeScript kernel and forcing wasm fails', async () => {
  const index = new URL('../../src/chunker/index.js', import.meta.url).href;
  const script = `
    const { Chunker, wasmKernelError } = await import(${JSON.stringify(index)});
    const chunker = new Chunker(${POL}n);
    const data = new Uint8Array(3 << 20).map((_, i) => (i * 2654435761) >>> 24);
    let forced = 'none';
    try { new Chunker(${POL}n, { kernel: 'wasm' }); } catch (err) { forced = err.code; }
    console.log(JSON.stringify({
      kernel: chunker.kernel,
      reason: String(wasmKernelError()),
      cuts: chunker.feed(data).map((c) => c.end),
      forced,
    }));
  `;
  const args = [...process.execArgv, '--jitless', '--input-type=module', '-e', script];
  const env = { ...process.env, HOLDFAST_CHUNKER_KERNEL: '' };
  const { stdout } = await promisify(execFile)(process.execPath, args, { env });
  const result = JSON.parse(stdout) as { kernel: string; reason: string; cuts: number[]; forced: string };
  assert.equal(result.kernel, 'ts');
  assert.match(result.reason, /WebAssembly/);
  assert.equal(result.forced, 'ERR_UNSUPPORTED');
  const data = new Uint8Array(3 << 20).map((_, i) => (i * 2654435761) >>> 24);
  assert.deepEqual(result.cuts, new Chunker(POL, { kernel: 'wasm' }).feed(data).map((c) => c.end));
});
