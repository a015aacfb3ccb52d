// Tree nodes against restic 0.14's own JSON (lines copied from `restic cat blob` of a backup made
// here): decoding then encoding must give the same bytes; plus Go's tolerance when reading.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HoldfastError } from '../../src/errors.js';
import { parseGoTime } from '../../src/format/go-json.js';
import { decodeNode, encodeNode, makeNode } from '../../src/format/node.js';

const isCorrupt = (err: unknown): boolean => err instanceof HoldfastError && err.code === 'ERR_CORRUPT';
const isInvalid = (err: unknown): boolean => err instanceof HoldfastError && err.code === 'ERR_INVALID_ARGUMENT';

/** Nodes exactly as restic 0.14.0 wrote them, with what their names are on disk. */
const resticNodes: Array<[name: Buffer, json: string]> = [
  [
    Buffer.from('a"b\\c\td\ne<&>'),
    String.raw`{"name":"a\\\"b\\\\c\\td\\ne\u003c\u0026\u003e","type":"file","mode":420,"mtime":"2026-11-26T01:24:33.747534536Z","atime":"2026-11-26T01:24:33.747534536Z","ctime":"2026-11-26T01:24:33.747534536Z","uid":0,"gid":0,"user":"root","group":"root","inode":2163081,"device_id":65024,"size":1,"links":1,"content":["2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"]}`,
  ],
  [
    Buffer.from('626164fffe', 'hex'),
    String.raw`{"name":"bad\\xff\\xfe","type":"file","mode":420,"mtime":"2026-11-26T01:24:33.747534536Z","atime":"2026-11-26T01:24:33.747534536Z","ctime":"2026-11-26T01:24:33.747534536Z","uid":0,"gid":0,"user":"root","group":"root","inode":2163082,"device_id":65024,"size":1,"links":1,"content":["a1fce4363854ff888cff4b8e7875d600c2682390412a8cf79b37d0b11148b0fa"]}`,
  ],
  [
    Buffer.from('caf\u00e9 \u00a0 \u{1f600} e\u0301'),
    '{"name":"caf\u00e9 \\\\u00a0 \u{1f600} e\u0301' + String.raw`","type":"file","mode":420,"mtime":"2026-11-26T01:24:33.747534536Z","atime":"2026-11-26T01:24:33.747534536Z","ctime":"2026-11-26T01:24:33.747534536Z","uid":0,"gid":0,"user":"root","group":"root","inode":2163083,"device_id":65024,"size":1,"links":1,"content":["594e519ae499312b29433b7dd8a97ff068defcba9755b6d5d00e84c524d67b06"]}`,
  ],
  [
    Buffer.from('ctllink'),
    String.raw`{"name":"ctllink","type":"symlink","mode":134218239,"mtime":"2026-11-26T01:24:33.747534536Z","atime":"2026-11-26T01:24:33.747534536Z","ctime":"2026-11-26T01:24:33.747534536Z","uid":0,"gid":0,"user":"root","group":"root","inode":2163085,"device_id":65024,"links":1,"linktarget":"a\u0008b\u000cc","content":null}`,
  ],
  [
    Buffer.from('dangling'),
    String.raw`{"name":"dangling","type":"symlink","mode":134218239,"mtime":"2026-11-26T01:24:33.738925528Z","atime":"2026-11-26T01:24:33.738925528Z","ctime":"2026-11-26T01:24:33.738925528Z","uid":0,"gid":0,"user":"root","group":"root","inode":2163079,"device_id":65024,"links":1,"linktarget":"nowhere","content":null}`,
  ],
  [
    Buffer.from('empty'),
    String.raw`{"name":"empty","type":"file","mode":420,"mtime":"2026-11-26T01:24:33.734925528Z","atime":"2026-11-26T01:24:33.734925528Z","ctime":"2026-11-26T01:24:33.734925528Z","uid":0,"gid":0,"user":"root","group":"root","inode":2163077,"device_id":65024,"links":1,"content":[]}`,
  ],
  [
    Buffer.from('fifo'),
    String.raw`{"name":"fifo","type":"fifo","mode":33554852,"mtime":"2026-11-26T01:24:33.738925528Z","atime":"2026-11-26T01:24:33.738925528Z","ctime":"2026-11-26T01:24:33.738925528Z","uid":0,"gid":0,"user":"root","group":"root","inode":2163080,"device_id":65024,"content":null}`,
  ],
  [
    Buffer.from('hello.txt'),
    String.raw`{"name":"hello.txt","type":"file","mode":420,"mtime":"2020-01-02T03:04:05.123456789Z","atime":"2020-01-02T03:04:05.123456789Z","ctime":"2026-11-26T01:24:33.743765827Z","uid":0,"gid":0,"user":"root","group":"root","inode":2163076,"device_id":65024,"size":12,"links":1,"extended_attributes":[{"name":"user.test","value":"dmFsAP8="}],"content":["a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"]}`,
  ],
  [
    Buffer.from('link'),
    String.raw`{"name":"link","type":"symlink","mode":134218239,"mtime":"2026-11-26T01:24:33.738925528Z","atime":"2026-11-26T01:24:33.738925528Z","ctime":"2026-11-26T01:24:33.738925528Z","uid":0,"gid":0,"user":"root","group":"root","inode":2163078,"device_id":65024,"links":1,"linktarget":"hello.txt","content":null}`,
  ],
  [
    Buffer.from('sub'),
    String.raw`{"name":"sub","type":"dir","mode":2147484141,"mtime":"2026-11-26T01:24:30.502925412Z","atime":"2026-11-26T01:24:30.502925412Z","ctime":"2026-11-26T01:24:30.502925412Z","uid":0,"gid":0,"user":"root","group":"root","inode":2162805,"device_id":65024,"content":null,"subtree":"ac08ce34ba4f8123618661bef2425f7028ffb9ac740578a3ee88684d2523fee8"}`,
  ],
];

test("decode then encode reproduces restic 0.14's bytes", () => {
  for (const [name, json] of resticNodes) {
    const node = decodeNode(json);
    assert.deepEqual(node.name, name, json);
    assert.equal(encodeNode(node), json);
  }
});

test('decoded fields carry the values restic wrote', () => {
  const file = decodeNode(resticNodes[7]![1]);
  assert.equal(file.type, 'file');
  assert.equal(file.mode, 0o644);
  assert.deepEqual(file.mtime, parseGoTime('2020-01-02T03:04:05.123456789Z'));
  assert.equal(file.size, 12n);
  assert.equal(file.inode, 2163076n);
  assert.equal(file.deviceId, 65024n);
  assert.equal(file.links, 1n);
  assert.deepEqual(file.extendedAttributes, [{ name: 'user.test', value: Buffer.from('val\x00\xff', 'latin1') }]);
  assert.deepEqual(file.content, ['a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447']);
  assert.equal(file.subtree, null);

  const link = decodeNode(resticNodes[3]![1]);
  assert.deepEqual(link.linkTarget, Buffer.from('a\bb\fc'));
  assert.equal(link.content, null);

  const dir = decodeNode(resticNodes[9]![1]);
  assert.equal(dir.mode, 0x8000_01ed);
  assert.equal(dir.subtree, 'ac08ce34ba4f8123618661bef2425f7028ffb9ac740578a3ee88684d2523fee8');
});

test('encoding follows Go omitempty: uid, gid and content always, the rest only when set', () => {
  const bare = makeNode({ name: Buffer.from('x'), type: 'fifo' });
  assert.equal(
    encodeNode(bare),
    '{"name":"x","type":"fifo","mtime":"0001-01-01T00:00:00Z","atime":"0001-01-01T00:00:00Z","ctime":"0001-01-01T00:00:00Z","uid":0,"gid":0,"content":null}',
  );
  const file = makeNode({ name: Buffer.from('f'), type: 'file', error: 'read: permission denied' });
  assert.match(encodeNode(file), /"gid":0,"content":\[\],"error":"read: permission denied"\}$/);
});

test('uint64 fields survive above 2^53', () => {
  const max = 18446744073709551615n;
  const node = makeNode({
    name: Buffer.from('big'),
    type: 'chardev',
    inode: max,
    deviceId: 9007199254740993n,
    links: max - 1n,
    device: max,
  });
  const json = encodeNode(node);
  assert.match(json, /"inode":18446744073709551615,"device_id":9007199254740993,"links":18446744073709551614,"device":18446744073709551615,/);
  assert.deepEqual(decodeNode(json), node);
});

test('extended attribute values: null and empty differ, as in Go', () => {
  const node = makeNode({
    name: Buffer.from('x'),
    type: 'file',
    extendedAttributes: [
      { name: 'user.null', value: null },
      { name: 'user.empty', value: Buffer.alloc(0) },
    ],
  });
  const json = encodeNode(node);
  assert.match(json, /"extended_attributes":\[\{"name":"user.null","value":null\},\{"name":"user.empty","value":""\}\]/);
  assert.deepEqual(decodeNode(json).extendedAttributes, node.extendedAttributes);
});

test('a link target that is not UTF-8: \\ufffd as restic 0.14 writes it, plus linktarget_raw', () => {
  const target = Buffer.from('746774ff', 'hex');
  const node = makeNode({ name: Buffer.from('badlink'), type: 'symlink', linkTarget: target, links: 1n });
  const json = encodeNode(node);
  assert.match(json, /"links":1,"linktarget":"tgt\\ufffd","linktarget_raw":"dGd0\/w==","content":null/);
  assert.deepEqual(decodeNode(json).linkTarget, target);
  // What restic 0.14 itself wrote for that link: the target's bytes are lost to U+FFFD.
  const restic = String.raw`{"name":"badlink","type":"symlink","mode":134218239,"mtime":"2026-11-26T01:24:33.747534536Z","atime":"2026-11-26T01:24:33.747534536Z","ctime":"2026-11-26T01:24:33.747534536Z","uid":0,"gid":0,"user":"root","group":"root","inode":2163084,"device_id":65024,"links":1,"linktarget":"tgt\ufffd","content":null}`;
  assert.deepEqual(decodeNode(restic).linkTarget, Buffer.from('tgt\ufffd'));
});

test('times outside years 0..9999 are clamped as restic FixTime does', () => {
  const year10000 = { ns: 253402300800n * 1_000_000_000n + 5n, offsetMinutes: 0 };
  const node = makeNode({ name: Buffer.from('future'), type: 'fifo', mtime: year10000 });
  assert.match(encodeNode(node), /"mtime":"9999-01-01T00:00:00.000000005Z"/);
});

test('reading tolerates missing fields, nulls, unknown fields and any key case', () => {
  const node = decodeNode(
    '{"NAME":"n","Type":"file","mode":null,"uid":7,"future":{"a":[1,2]},"generic_attributes":{"windows.x":"eA=="},' +
      '"Size":18446744073709551615,"extended_attributes":[{"name":"user.a","value":null},null],"content":["' +
      'AB'.repeat(32) +
      '"],"device":null}',
  );
  assert.deepEqual(node.name, Buffer.from('n'));
  assert.equal(node.type, 'file');
  assert.equal(node.mode, 0);
  assert.equal(node.uid, 7);
  assert.equal(node.size, 18446744073709551615n);
  assert.equal(node.device, 0n);
  assert.deepEqual(node.extendedAttributes, [
    { name: 'user.a', value: null },
    { name: '', value: null },
  ]);
  assert.deepEqual(node.content, ['ab'.repeat(32)]);
  assert.equal(node.user, '');
  assert.equal(node.mtime.ns, -62135596800000000000n);
});

test('linktarget_raw wins over linktarget in either order', () => {
  for (const json of [
    '{"name":"l","type":"symlink","linktarget":"x\\ufffd","linktarget_raw":"eP8="}',
    '{"name":"l","type":"symlink","linktarget_raw":"eP8=","linktarget":"x\\ufffd"}',
  ]) {
    assert.deepEqual(decodeNode(json).linkTarget, Buffer.from('78ff', 'hex'));
  }
});

test('malformed nodes are corrupt data', () => {
  const bad = [
    '{"name":"a\\"b","type":"file"}',
    '{"name":"x","type":"whatever"}',
    '{"name":"x"}',
    '{"name":"x","type":"file","uid":-1}',
    '{"name":"x","type":"file","uid":4294967296}',
    '{"name":"x","type":"file","inode":18446744073709551616}',
    '{"name":"x","type":"file","mtime":"yesterday"}',
    '{"name":"x","type":"file","content":["abc"]}',
    '{"name":"x","type":"dir","subtree":"zz"}',
    '{"name":"x","type":"file",}',
    '[]',
  ];
  for (const json of bad) assert.throws(() => decodeNode(json), isCorrupt, json);
});

test('encoding refuses nodes restic check would reject', () => {
  assert.throws(() => encodeNode(makeNode({ name: Buffer.from('f'), type: 'file', content: null })), isInvalid);
  assert.throws(() => encodeNode(makeNode({ name: Buffer.from('d'), type: 'dir' })), isInvalid);
  assert.throws(() => encodeNode(makeNode({ name: Buffer.alloc(0), type: 'fifo' })), isInvalid);
});
