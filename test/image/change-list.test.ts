// The --changed-blocks text format: OFFSET LENGTH lines in decimal or hex, comments, an optional
// version line, and clear refusals for anything else.

import assert from 'node:assert/strict';
import test from 'node:test';
import { HoldfastError } from '../../src/errors.js';
import { parseChangeList } from '../../src/image/change-list.js';

test('extents in decimal and hex, with comments and blank lines; zero lengths are dropped', () => {
  const text = '# holdfast changed-blocks 1\n# from my tracker\n0 4096\n\n0x100000 0x10000   # a 64 KiB write\r\n5000 0\n';
  assert.deepEqual(parseChangeList(text, 2 << 20), [
    { offset: 0, length: 4096 },
    { offset: 0x100000, length: 0x10000 },
  ]);
  assert.deepEqual(parseChangeList('', 100), []);
});

test('malformed lines, ranges past the end and newer versions are refused with the line number', () => {
  const refuses = (text: string, pattern: RegExp, code = 'ERR_INVALID_ARGUMENT') =>
    assert.throws(() => parseChangeList(text, 1 << 20, 'list'), (err: unknown) => err instanceof HoldfastError && err.code === code && pattern.test(err.message));
  refuses('0 4096\n12\n', /list line 2: expected "OFFSET LENGTH"/);
  refuses('0 4k\n', /list line 1: "4k" is not a byte count/);
  refuses('-1 10\n', /"-1" is not a byte count/);
  refuses('1048000 1000\n', /line 1: 1000 bytes at offset 1048000 reach past the end of the 1048576-byte volume/);
  refuses('# holdfast changed-blocks 2\n', /format version 2 is not supported/, 'ERR_UNSUPPORTED');
  refuses('0 1\n# holdfast changed-blocks 1\n', /the format line must come first/);
});
