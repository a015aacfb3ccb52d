// Tests that the per-polynomial tables equal their definitions in restic/chunker, computed the
// slow way (byte-at-a-time appends and plain polynomial division).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { degree, polyMod, tablesFor } from '../../src/chunker/index.js';
import { HoldfastError } from '../../src/errors.js';

const entry = (hi: Uint32Array, lo: Uint32Array, b: number): bigint => (BigInt(hi[b]) << 32n) | BigInt(lo[b]);

for (const pol of [0x3da3358b4dc173n, 0x3c5a9db876c2bbn, 0x2482734cacca49n]) {
  test(`tables for ${pol.toString(16)} match their definitions`, () => {
    const t = tablesFor(pol);
    assert.equal(t.pol, pol);
    assert.equal(t.polShift, 45);
    const k = BigInt(degree(pol));
    for (let b = 0; b < 256; b++) {
      // out[b]: the hash of b followed by 63 zero bytes, one appended byte at a time.
      let h = polyMod(BigInt(b), pol);
      for (let i = 0; i < 63; i++) h = polyMod(h << 8n, pol);
      assert.equal(entry(t.outHi, t.outLo, b), h, `out[${b}]`);
      const shifted = BigInt(b) << k;
      assert.equal(entry(t.modHi, t.modLo, b), polyMod(shifted, pol) | shifted, `mod[${b}]`);
    }
    assert.equal(tablesFor(pol), t, 'cached');
  });
}

test('tablesFor refuses a reducible polynomial', () => {
  assert.throws(() => tablesFor(0x38f1e565e288dfn), (err: unknown) => err instanceof HoldfastError && err.code === 'ERR_CONFIG');
});
