// Go FileMode bits against POSIX st_mode for every file type, with the special bits, checked
// against the values restic 0.14 was seen to write.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GoMode,
  goModeFromPosix,
  goModeTypeBits,
  type NodeType,
  nodeTypeOfGoMode,
  posixFromGoMode,
  PosixMode,
  RESTIC_MODE_MASK,
} from '../../src/format/file-mode.js';

/** [type, st_mode, Go FileMode as restic stores it]. */
const cases: Array<[NodeType, number, number]> = [
  ['file', 0o100644, 420],
  ['file', 0o100000, 0],
  ['dir', 0o040755, 2147484141],
  ['symlink', 0o120777, 134218239],
  ['fifo', 0o010644, 33554852],
  ['socket', 0o140755, (GoMode.socket | 0o755) >>> 0],
  ['dev', 0o060660, (GoMode.device | 0o660) >>> 0],
  ['chardev', 0o020666, (GoMode.device | GoMode.charDevice | 0o666) >>> 0],
  ['file', 0o104755, (GoMode.setuid | 0o755) >>> 0],
  ['file', 0o102755, (GoMode.setgid | 0o755) >>> 0],
  ['dir', 0o041777, (GoMode.dir | GoMode.sticky | 0o777) >>> 0],
  ['dir', 0o047777, (GoMode.dir | GoMode.setuid | GoMode.setgid | GoMode.sticky | 0o777) >>> 0],
];

test('st_mode maps to the Go FileMode restic writes, and back', () => {
  for (const [type, stMode, goMode] of cases) {
    const label = `${type} ${stMode.toString(8)}`;
    assert.equal(goModeFromPosix(stMode), goMode, label);
    assert.equal(posixFromGoMode(goMode), stMode, label);
    assert.equal(nodeTypeOfGoMode(goMode), type, label);
    assert.equal((goMode & ~0o777 & ~(GoMode.setuid | GoMode.setgid | GoMode.sticky)) >>> 0, goModeTypeBits(type), label);
  }
});

test('a character device carries both device bits', () => {
  assert.equal(goModeTypeBits('chardev'), 0x0420_0000);
  assert.equal(nodeTypeOfGoMode(GoMode.device), 'dev');
  assert.equal(nodeTypeOfGoMode(GoMode.charDevice), undefined);
});

test("restic's mask keeps type, permission and special bits only", () => {
  assert.equal(RESTIC_MODE_MASK, 0x8ff8_01ff);
  assert.equal((GoMode.append | GoMode.exclusive | GoMode.temporary) & RESTIC_MODE_MASK, 0);
});

test('an unknown POSIX type gets no Go type bits; irregular has no POSIX type', () => {
  assert.equal(goModeFromPosix(0o000644), 0o644);
  assert.equal(nodeTypeOfGoMode(GoMode.irregular | 0o644), 'irregular');
  assert.equal(posixFromGoMode(GoMode.irregular | 0o644) & PosixMode.typeMask, 0);
});
