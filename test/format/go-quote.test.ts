// Go strconv.Quote / Unquote for node names: a table of Go's own results, the Unicode 13 printable
// table at its edges, and random byte names (HOLDFAST_TEST_SEED replays a failure).

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { goQuote, goUnquote } from '../../src/format/go-quote.js';
import { isGoPrint } from '../../src/format/unicode-print.js';

const seed = process.env.HOLDFAST_TEST_SEED ?? randomBytes(8).toString('hex');

const hexBytes = (hex: string): Buffer => Buffer.from(hex.replace(/ /g, ''), 'hex');
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** [name bytes, what Go 1.19's strconv.Quote gives without its outer quotes]. */
const cases: Array<[label: string, name: Buffer, quoted: string]> = [
  ['plain', utf8('hello.txt'), 'hello.txt'],
  ['double quote', utf8('a"b'), 'a\\"b'],
  ['backslash', utf8('a\\b'), 'a\\\\b'],
  ['tab', utf8('a\tb'), 'a\\tb'],
  ['newline', utf8('a\nb'), 'a\\nb'],
  ['short escapes', utf8('\x07\b\f\n\r\t\v'), '\\a\\b\\f\\n\\r\\t\\v'],
  ['html characters stay (JSON escapes them later)', utf8('<&>'), '<&>'],
  ['NUL', hexBytes('00'), '\\x00'],
  ['ESC', hexBytes('1b'), '\\x1b'],
  ['DEL', hexBytes('7f'), '\\x7f'],
  ['single quote stays', utf8("it's"), "it's"],
  ['invalid bytes', hexBytes('626164 ff fe'), 'bad\\xff\\xfe'],
  ['lone continuation byte', hexBytes('80'), '\\x80'],
  ['overlong NUL', hexBytes('c0 80'), '\\xc0\\x80'],
  ['overlong slash', hexBytes('e0 80 af'), '\\xe0\\x80\\xaf'],
  ['UTF-8 of a surrogate', hexBytes('ed a0 80'), '\\xed\\xa0\\x80'],
  ['above U+10FFFF', hexBytes('f4 90 80 80'), '\\xf4\\x90\\x80\\x80'],
  ['truncated sequence then ASCII', hexBytes('e2 82 41'), '\\xe2\\x82A'],
  ['latin-1 letter', utf8('café'), 'café'],
  ['NO-BREAK SPACE', utf8('a\u00a0b'), 'a\\u00a0b'],
  ['SOFT HYPHEN (Cf)', utf8('\u00ad'), '\\u00ad'],
  ['C1 control NEL', utf8('\u0085'), '\\u0085'],
  ['ZERO WIDTH SPACE', utf8('\u200b'), '\\u200b'],
  ['LINE SEPARATOR', utf8('\u2028'), '\\u2028'],
  ['BOM', utf8('\ufeff'), '\\ufeff'],
  ['IDEOGRAPHIC SPACE (Zs)', utf8('\u3000'), '\\u3000'],
  ['private use', utf8('\ue000'), '\\ue000'],
  ['REPLACEMENT CHARACTER stays', utf8('\ufffd'), '\ufffd'],
  ['noncharacter U+FFFE', utf8('\ufffe'), '\\ufffe'],
  ['emoji', utf8('smile 😀'), 'smile 😀'],
  ['combining acute', utf8('e\u0301'), 'e\u0301'],
  ['CJK', utf8('日本語'), '日本語'],
  ['U+1FAD6 (Unicode 13) stays', utf8('\u{1fad6}'), '\u{1fad6}'],
  ['U+1FAD7 (Unicode 14) is escaped', utf8('\u{1fad7}'), '\\U0001fad7'],
  ['U+30000 (CJK G, Unicode 13) stays', utf8('\u{30000}'), '\u{30000}'],
  ['U+2A6DE (Unicode 14) is escaped', utf8('\u{2a6de}'), '\\U0002a6de'],
  ['language tag', utf8('\u{e0041}'), '\\U000e0041'],
  ['plane-16 private use', utf8('\u{10ffff}'), '\\U0010ffff'],
];

test('goQuote matches Go strconv.Quote', () => {
  for (const [label, name, quoted] of cases) assert.equal(goQuote(name), quoted, label);
});

test('goUnquote inverts every table case', () => {
  for (const [label, name, quoted] of cases) assert.deepEqual(goUnquote(quoted), name, label);
});

test('goUnquote accepts every Go escape', () => {
  const accepted: Array<[string, Buffer]> = [
    ['\\101\\060', utf8('A0')],
    ['\\377\\000', hexBytes('ff 00')],
    ['\\xE9\\xe9', hexBytes('e9 e9')],
    ['\\u00e9', utf8('é')],
    ['\\U0001F600', utf8('😀')],
    ['\\u0041', utf8('A')],
    ['raw\ttab and \r are allowed', utf8('raw\ttab and \r are allowed')],
    ['\\\\\\"', utf8('\\"')],
    ['', Buffer.alloc(0)],
  ];
  for (const [quoted, bytes] of accepted) assert.deepEqual(goUnquote(quoted), bytes, quoted);
});

test('goUnquote rejects what Go rejects', () => {
  const rejected = [
    'raw"quote',
    'raw\nnewline',
    "\\'",
    '\\q',
    'trailing\\',
    '\\x4',
    '\\x4g',
    '\\u12',
    '\\ud800',
    '\\U00110000',
    '\\400',
    '\\18',
    '\\7',
  ];
  for (const quoted of rejected) assert.throws(() => goUnquote(quoted), SyntaxError, JSON.stringify(quoted));
});

test('isGoPrint follows Go 1.19 (Unicode 13) at range edges', () => {
  const printable = [0x20, 0x7e, 0xa1, 0xac, 0xae, 0x377, 0x37a, 0x1f600, 0x1fad6, 0x20000, 0x2a6dd, 0x3134a, 0xe0100, 0xe01ef];
  const notPrintable = [0x1f, 0x7f, 0x80, 0xa0, 0xad, 0x378, 0x1680, 0xd800, 0xfffe, 0x1fad7, 0x2a6de, 0x3134b, 0xe01f0, 0x10ffff];
  for (const r of printable) assert.equal(isGoPrint(r), true, r.toString(16));
  for (const r of notPrintable) assert.equal(isGoPrint(r), false, r.toString(16));
});

/** A deterministic byte source from the seed: SHA-256 in counter mode. */
function byteStream(label: string): () => number {
  let block = Buffer.alloc(0);
  let offset = 0;
  let counter = 0;
  return () => {
    if (offset === block.length) {
      block = createHash('sha256').update(`${seed}/${label}/${counter++}`).digest();
      offset = 0;
    }
    return block[offset++]!;
  };
}

test('random byte names survive quote and unquote', (t) => {
  t.diagnostic(`seed ${seed}`);
  const next = byteStream('names');
  // Bias towards the bytes that matter: ASCII specials, lead and continuation bytes.
  const interesting = [0x00, 0x07, 0x0a, 0x22, 0x5c, 0x7f, 0x80, 0xbf, 0xc2, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xff];
  for (let n = 0; n < 5000; n++) {
    const length = 1 + (next() % 24);
    const name = Buffer.alloc(length);
    for (let i = 0; i < length; i++) name[i] = next() < 64 ? interesting[next() % interesting.length]! : next();
    const quoted = goQuote(name);
    assert.doesNotMatch(quoted, /[\u0000-\u001f\u007f]/, 'no raw control character is left');
    assert.doesNotMatch(quoted.replace(/\\./g, ''), /"/, 'every quote is escaped');
    assert.deepEqual(goUnquote(quoted), name, name.toString('hex'));
  }
});

test('random valid UTF-8 names survive quote and unquote', (t) => {
  t.diagnostic(`seed ${seed}`);
  const next = byteStream('runes');
  for (let n = 0; n < 2000; n++) {
    let s = '';
    for (let i = 0; i < 8; i++) {
      const r = ((next() << 16) | (next() << 8) | next()) % 0x110000;
      if (r < 0xd800 || r > 0xdfff) s += String.fromCodePoint(r);
    }
    const name = utf8(s);
    assert.deepEqual(goUnquote(goQuote(name)), name, name.toString('hex'));
  }
});
