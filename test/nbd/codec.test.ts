// The NBD codecs on their own: every encoder round-trips through its decoder, byte layouts match the
// spec's fixed offsets, and malformed input is refused; plus NBD URI parsing per the URI spec.

import assert from 'node:assert/strict';
import test from 'node:test';
import { HoldfastError } from '../../src/errors.js';
import { Command, CommandFlag, Info, Option, OptionReply, ReplyFlag, ReplyType } from '../../src/nbd/constants.js';
import {
  decodeClientFlags,
  decodeGreetingMagics,
  decodeInfoReply,
  decodeInfoRequest,
  decodeMetaContextQuery,
  decodeMetaContextReply,
  decodeOptionHeader,
  decodeOptionReplyHeader,
  encodeClientFlags,
  encodeInfoReply,
  encodeInfoRequest,
  encodeMetaContextQuery,
  encodeMetaContextReply,
  encodeNewstyleGreeting,
  encodeOption,
  encodeOptionReply,
} from '../../src/nbd/handshake-codec.js';
import {
  decodeBlockStatus,
  decodeErrorChunk,
  decodeOffsetDataPrefix,
  decodeOffsetHole,
  decodeReplyHeader,
  decodeRequest,
  encodeBlockStatus,
  encodeChunkHeader,
  encodeErrorChunk,
  encodeOffsetDataPrefix,
  encodeOffsetHole,
  encodeRequest,
  encodeSimpleReply,
} from '../../src/nbd/transmission-codec.js';
import { formatNbdUri, parseNbdUri } from '../../src/nbd/uri.js';

const isCode = (code: string) => (e: unknown) => e instanceof HoldfastError && e.code === code;

test('newstyle greeting: NBDMAGIC, IHAVEOPT, flags; oldstyle is recognised', () => {
  const greeting = encodeNewstyleGreeting(3);
  assert.equal(greeting.toString('latin1', 0, 16), 'NBDMAGICIHAVEOPT');
  assert.equal(greeting.readUInt16BE(16), 3);
  assert.equal(decodeGreetingMagics(greeting), 'newstyle');
  const oldstyle = Buffer.concat([Buffer.from('NBDMAGIC'), Buffer.from('0000420281861253', 'hex')]);
  assert.equal(decodeGreetingMagics(oldstyle), 'oldstyle');
  assert.throws(() => decodeGreetingMagics(Buffer.from('HTTP/1.1 400 Bad')), /not an NBD server/);
  assert.throws(() => decodeGreetingMagics(Buffer.from('NBDMAGICsomethin')), isCode('ERR_CORRUPT'));
  assert.equal(decodeClientFlags(encodeClientFlags(1)), 1);
});

test('option requests and replies round-trip with the spec layout', () => {
  const opt = encodeOption(Option.go, Buffer.from('abc'));
  assert.equal(opt.length, 16 + 3);
  assert.equal(opt.toString('latin1', 0, 8), 'IHAVEOPT');
  assert.deepEqual(decodeOptionHeader(opt), { option: Option.go, length: 3 });

  const reply = encodeOptionReply(Option.go, OptionReply.errUnknown, Buffer.from('no such export'));
  assert.equal(reply.readBigUInt64BE(0), 0x3e889045565a9n);
  assert.deepEqual(decodeOptionReplyHeader(reply), { option: Option.go, type: 0x80000006, length: 14 });
  const bad = Buffer.from(reply);
  bad[0] = 0xff;
  assert.throws(() => decodeOptionReplyHeader(bad), isCode('ERR_CORRUPT'));
});

test('NBD_OPT_GO data and NBD_REP_INFO payloads round-trip', () => {
  const request = { exportName: 'disk é', infos: [Info.blockSize, Info.name] };
  const data = encodeInfoRequest(request);
  assert.equal(data.readUInt32BE(0), Buffer.byteLength('disk é'));
  assert.deepEqual(decodeInfoRequest(data), request);
  assert.throws(() => decodeInfoRequest(data.subarray(0, data.length - 1)), isCode('ERR_CORRUPT'));

  const infos = [
    { type: Info.export, size: 2 ** 40 + 512, transmissionFlags: 0x1ed },
    { type: Info.name, name: 'disk' },
    { type: Info.description, description: 'a test disk' },
    { type: Info.blockSize, minimum: 512, preferred: 4096, maximum: 32 << 20 },
  ] as const;
  for (const info of infos) assert.deepEqual(decodeInfoReply(encodeInfoReply(info)), info);
  assert.deepEqual(decodeInfoReply(Buffer.from([0, 42, 1, 2])), { type: 'unknown', infoType: 42 });
  assert.throws(() => decodeInfoReply(Buffer.from([0, 0, 1, 2])), /NBD_INFO_EXPORT is 4 bytes/);
  const huge = Buffer.alloc(12);
  huge.writeBigUInt64BE(2n ** 60n, 2);
  assert.throws(() => decodeInfoReply(huge), /beyond 2\^53/);
});

test('metadata context queries and replies round-trip', () => {
  const query = { exportName: 'disk', queries: ['base:allocation', 'qemu:dirty-bitmap:b0'] };
  assert.deepEqual(decodeMetaContextQuery(encodeMetaContextQuery(query)), query);
  assert.deepEqual(decodeMetaContextQuery(encodeMetaContextQuery({ exportName: '', queries: [] })), { exportName: '', queries: [] });
  const reply = encodeMetaContextReply({ id: 7, name: 'qemu:dirty-bitmap:b0' });
  assert.deepEqual(decodeMetaContextReply(reply), { id: 7, name: 'qemu:dirty-bitmap:b0' });
  assert.throws(() => decodeMetaContextQuery(Buffer.concat([encodeMetaContextQuery(query), Buffer.from([0])])), /trailing/);
  assert.throws(() => encodeMetaContextQuery({ exportName: 'a\0b', queries: [] }), isCode('ERR_INVALID_ARGUMENT'));
  assert.throws(() => encodeMetaContextQuery({ exportName: 'x'.repeat(4097), queries: [] }), /longer than 4096/);
});

test('requests round-trip for every command the client or a server sends', () => {
  const requests = [
    { type: Command.read, flags: 0, cookie: 1n, offset: 0, length: 4096 },
    { type: Command.write, flags: CommandFlag.fua, cookie: 2n ** 64n - 1n, offset: 2 ** 50, length: 65536 },
    { type: Command.flush, flags: 0, cookie: 3n, offset: 0, length: 0 },
    { type: Command.trim, flags: 0, cookie: 4n, offset: 1 << 20, length: 1 << 20 },
    { type: Command.blockStatus, flags: CommandFlag.reqOne, cookie: 5n, offset: 512, length: 0xffffffff },
    { type: Command.disc, flags: 0, cookie: 6n, offset: 0, length: 0 },
  ];
  for (const request of requests) {
    const buf = encodeRequest(request);
    assert.equal(buf.length, 28);
    assert.equal(buf.readUInt32BE(0), 0x25609513);
    assert.deepEqual(decodeRequest(buf), request);
  }
  assert.throws(() => encodeRequest({ ...requests[0]!, length: 2 ** 32 }), isCode('ERR_INVALID_ARGUMENT'));
  assert.throws(() => encodeRequest({ ...requests[0]!, offset: -1 }), isCode('ERR_INVALID_ARGUMENT'));
});

test('simple replies and structured chunk headers are told apart by their magic', () => {
  assert.deepEqual(decodeReplyHeader(encodeSimpleReply({ error: 5, cookie: 9n })), { kind: 'simple', error: 5, cookie: 9n });
  const chunk = { flags: ReplyFlag.done, type: ReplyType.offsetData, cookie: 10n, length: 8 + 512 };
  const header = encodeChunkHeader(chunk);
  assert.equal(header.readUInt32BE(0), 0x668e33ef);
  assert.deepEqual(decodeReplyHeader(header), { kind: 'structured', ...chunk });
  assert.throws(() => decodeReplyHeader(Buffer.alloc(20)), /unknown magic/);
});

test('chunk payloads round-trip and invalid ones are refused', () => {
  assert.equal(decodeOffsetDataPrefix(encodeOffsetDataPrefix(123456789)), 123456789);
  assert.deepEqual(decodeOffsetHole(encodeOffsetHole({ offset: 4096, length: 8192 })), { offset: 4096, length: 8192 });
  assert.throws(() => decodeOffsetHole(encodeOffsetHole({ offset: 0, length: 0 })), /length 0/);

  const status = { contextId: 2, descriptors: [{ length: 1 << 20, flags: 3 }, { length: 65536, flags: 0 }] };
  const payload = encodeBlockStatus(status);
  assert.equal(payload.length, 4 + 16);
  assert.deepEqual(decodeBlockStatus(payload), status);
  assert.throws(() => decodeBlockStatus(payload.subarray(0, 8)), /not 4 \+ a positive multiple of 8/);
  assert.throws(() => decodeBlockStatus(encodeBlockStatus({ contextId: 1, descriptors: [{ length: 0, flags: 0 }] })), /length 0/);

  const plain = encodeErrorChunk({ errno: 5, message: 'disk on fire' });
  assert.equal(plain.type, ReplyType.error);
  assert.deepEqual(decodeErrorChunk(plain.type, plain.payload), { errno: 5, message: 'disk on fire' });
  const located = encodeErrorChunk({ errno: 22, message: '', offset: 1 << 30 });
  assert.equal(located.type, ReplyType.errorOffset);
  assert.deepEqual(decodeErrorChunk(located.type, located.payload), { errno: 22, message: '', offset: 1 << 30 });
  // A future error type still decodes as an error, as the spec requires of clients.
  assert.deepEqual(decodeErrorChunk(0x8007, plain.payload), { errno: 5, message: 'disk on fire' });
  const overlong = Buffer.from(plain.payload);
  overlong.writeUInt16BE(100, 4);
  assert.throws(() => decodeErrorChunk(ReplyType.error, overlong), /past the end/);
  assert.throws(() => decodeErrorChunk(ReplyType.error, Buffer.alloc(6)), /error 0/);
});

test('NBD URIs parse per the URI spec and format back', () => {
  const cases: Array<[string, ReturnType<typeof parseNbdUri>]> = [
    ['nbd://example.com/disk', { endpoint: { host: 'example.com', port: 10809 }, exportName: 'disk' }],
    ['nbd://example.com', { endpoint: { host: 'example.com', port: 10809 }, exportName: '' }],
    ['nbd://example.com//disk', { endpoint: { host: 'example.com', port: 10809 }, exportName: '/disk' }],
    ['nbd://example.com/hello%20world', { endpoint: { host: 'example.com', port: 10809 }, exportName: 'hello world' }],
    ['nbd://127.0.0.1:10810/', { endpoint: { host: '127.0.0.1', port: 10810 }, exportName: '' }],
    ['nbd://[::1]:10811/x', { endpoint: { host: '::1', port: 10811 }, exportName: 'x' }],
    ['nbd+unix:///disk?socket=/run/nbd.sock', { endpoint: { socket: '/run/nbd.sock' }, exportName: 'disk' }],
    ['nbd+unix:///?socket=%00/abstract', { endpoint: { socket: '\0/abstract' }, exportName: '' }],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(parseNbdUri(text), expected, text);
    assert.deepEqual(parseNbdUri(formatNbdUri(expected)), expected, text);
  }
  assert.equal(formatNbdUri(parseNbdUri('nbd+unix:///disk?socket=/tmp/a%20b.sock')), 'nbd+unix:///disk?socket=/tmp/a%20b.sock');
  assert.throws(() => parseNbdUri('nbds://example.com/disk'), isCode('ERR_UNSUPPORTED'));
  assert.throws(() => parseNbdUri('nbd+unix:///disk'), /needs a socket=PATH/);
  assert.throws(() => parseNbdUri('nbd://example.com/disk?socket=/x'), /belongs to nbd\+unix/);
  assert.throws(() => parseNbdUri('nbd://example.com/disk?bogus=1'), /unknown NBD URI parameter bogus/);
  assert.throws(() => parseNbdUri('http://example.com/disk'), /unsupported URI scheme/);
  assert.throws(() => parseNbdUri('/dev/nbd0'), isCode('ERR_INVALID_ARGUMENT'));
  assert.doesNotThrow(() => parseNbdUri('nbd://example.com/disk?x-experimental=1'));
});
