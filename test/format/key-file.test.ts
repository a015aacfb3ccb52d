// Key derivation and key files: scrypt's published vector, and a key file written by restic 0.14
// opened with its password to the master key restic printed for it.

import assert from 'node:assert/strict';
import test from 'node:test';
import { newRandomKey } from '../../src/format/crypto.js';
import { zeroGoTime } from '../../src/format/go-json.js';
import { createKeyFile, decodeKeyFile, deriveUserKey, encodeKeyFile, encodeMasterKey, openKeyFile } from '../../src/format/key-file.js';

test('user key derivation reproduces the RFC 7914 scrypt vector', async () => {
  const k = await deriveUserKey('password', Buffer.from('NaCl'), { N: 1024, r: 8, p: 16 });
  assert.equal(
    Buffer.concat([k.encrypt, k.macK, k.macR]).toString('hex'),
    'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162' +
      '2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
  );
});

const resticKeyFile = Buffer.from(
  '{"created":"2026-11-26T01:23:51.510856612Z","username":"root","hostname":"vm","kdf":"scrypt","N":32768,"r":8,"p":7,' +
    '"salt":"dhcdTlQ660fRz+FED0avy9V24iEjgiLsMbfoqJeFXDDNxc/q6MkdiSdJut8qKY4SZtCV6e3bvn/F/+E9FTCMAw==",' +
    '"data":"JPdpQQ9I90erCUNziJFPbJwWSBzyKHTdsLklrKdlXU0w4VoxcFYtw+W4V1UJuSn+bxpey/F97xpvupvI0XuncmyYdoWDEojNQTGeKoYYgEsmbbfQHRAYsiEzvbsK08nsXjP0OEetLm9UVrjrX1/0XDWoifoSLlb60ZZfM96nY7Q4NqocD3x3l9gFwmUZBizBATVW70Y1rnZIY0PaUmziQw=="}',
);
const resticMasterKey = '{"mac":{"k":"efMxHgd7x/fmWjc7CdJIgA==","r":"CzRJA+R7qAQUq8gN3FnaBQ=="},"encrypt":"9z+oxBhW9lK7fMEIAj58F1nYwTgM+1QW0KEWq3YF/e8="}';

test('a key file written by restic opens with its password to the master key restic printed', async () => {
  const file = decodeKeyFile(resticKeyFile);
  assert.deepEqual(file.params, { N: 32768, r: 8, p: 7 });
  const master = await openKeyFile(file, 'correct horse');
  assert.ok(master);
  assert.equal(encodeMasterKey(master).toString(), resticMasterKey);
  assert.equal(await openKeyFile(file, 'wrong horse'), null);
});

test('key files round-trip and re-encode in restic field order', async () => {
  const master = newRandomKey();
  const file = await createKeyFile('pw', master, { username: 'u<&>', hostname: 'h', created: zeroGoTime }, { N: 1024, r: 8, p: 1 });
  const bytes = encodeKeyFile(file);
  assert.match(bytes.toString(), /^\{"created":"0001-01-01T00:00:00Z","username":"u\\u003c\\u0026\\u003e","hostname":"h","kdf":"scrypt","N":1024,"r":8,"p":1,"salt":"/);
  const again = decodeKeyFile(bytes);
  assert.deepEqual(await openKeyFile(again, 'pw'), master);
});

test('broken key files are refused with a clear reason', () => {
  assert.throws(() => decodeKeyFile(Buffer.from('{"kdf":"scrypt",')), /not valid JSON/);
  assert.throws(() => decodeKeyFile(Buffer.from('{"kdf":"argon2"}')), /unsupported KDF/);
  const shortSalt = resticKeyFile.toString().replace(/"salt":"[^"]+"/, '"salt":"AAAA"');
  assert.throws(() => decodeKeyFile(Buffer.from(shortSalt)), /salt has 3 bytes/);
});
