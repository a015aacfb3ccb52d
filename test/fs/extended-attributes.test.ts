// Extended attributes through the optional native module: kernel order and empty values, paths
// that are not UTF-8 (through /proc/self/fd), and a process where the module cannot be loaded.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { extendedAttributeSupport, readExtendedAttributes } from '../../src/fs/extended-attributes.js';
import { joinPath } from '../../src/fs/paths.js';
import type { FsWarning } from '../../src/fs/warning.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { buildFixture } from './fixture.js';

const run = promisify(execFile);
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('attributes come in kernel order, also for paths that are not UTF-8', async (t) => {
  if (!requireTools(t, 'python3')) return;
  if (!(await extendedAttributeSupport()).available) {
    t.skip('@napi-rs/xattr is not installed');
    return;
  }
  const dir = b(await tempDir(t));
  const badDir = joinPath(dir, b('d\xff'));
  const file = joinPath(dir, b('f'));
  const inside = joinPath(badDir, b('inside'));
  const badName = joinPath(dir, b('n\xfe'));
  await buildFixture([
    { op: 'file', path: file },
    { op: 'xattr', path: file, name: 'user.z', value: b('1') },
    { op: 'xattr', path: file, name: 'user.a', value: Buffer.alloc(0) },
    { op: 'mkdir', path: badDir },
    { op: 'xattr', path: badDir, name: 'user.dir', value: b('\x00\xff') },
    { op: 'file', path: inside },
    { op: 'xattr', path: inside, name: 'user.inside', value: b('i') },
    { op: 'file', path: badName },
  ]);
  const warnings: FsWarning[] = [];
  const warn = (w: FsWarning): void => void warnings.push(w);
  assert.deepEqual(await readExtendedAttributes(file, false, warn), [
    { name: 'user.z', value: b('1') },
    { name: 'user.a', value: Buffer.alloc(0) },
  ]);
  assert.deepEqual(await readExtendedAttributes(badDir, true, warn), [{ name: 'user.dir', value: b('\x00\xff') }]);
  assert.deepEqual(await readExtendedAttributes(inside, false, warn), [{ name: 'user.inside', value: b('i') }]);
  assert.equal(warnings.length, 0);
  assert.deepEqual(await readExtendedAttributes(joinPath(dir, b('gone')), false, warn), []);
  const messages = (): string[] => warnings.map((w) => w.message);
  assert.match(messages()[0] ?? '', /cannot list extended attributes/);
  // The module cannot name a file whose own name is not UTF-8 (and it is not a directory).
  assert.deepEqual(await readExtendedAttributes(badName, false, warn), []);
  assert.match(messages()[1] ?? '', /not valid UTF-8/);
});

test('without the module a backup goes on without attributes, with one warning', async (t) => {
  const dir = await tempDir(t);
  const fromSources = import.meta.url.endsWith('.ts');
  const moduleUrl = new URL(`../../src/fs/extended-attributes.${fromSources ? 'ts' : 'js'}`, import.meta.url).href;
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier === '@napi-rs/xattr') throw new Error('simulated: module not installed');
    return next(specifier, context);
  }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify('data:text/javascript,' + encodeURIComponent(hook))});`;
  const script = `
    const { readExtendedAttributes, extendedAttributeSupport } = await import(${JSON.stringify(moduleUrl)});
    const warnings = [];
    const warn = (w) => warnings.push(w.message);
    const first = await readExtendedAttributes(Buffer.from(${JSON.stringify(dir)}), true, warn);
    const second = await readExtendedAttributes(Buffer.from(${JSON.stringify(dir)}), true, warn);
    console.log(JSON.stringify({ found: first.length + second.length, warnings, support: await extendedAttributeSupport() }));`;
  const args = [...(fromSources ? ['--import', 'tsx'] : []), '--import', 'data:text/javascript,' + encodeURIComponent(register), '--input-type=module', '-e', script];
  const { stdout } = await run(process.execPath, args, { cwd: fileURLToPath(new URL('.', import.meta.url)) });
  const result = JSON.parse(stdout) as { found: number; warnings: string[]; support: { available: boolean; reason?: string } };
  assert.equal(result.found, 0);
  assert.equal(result.warnings.length, 1);
  assert.match(result.warnings[0]!, /extended attributes are not saved.*simulated/);
  assert.deepEqual(result.support, { available: false, reason: 'simulated: module not installed' });
});
