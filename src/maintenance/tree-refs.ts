// The blobs a tree refers to (file contents, subtrees), scanned straight from its bytes so that only
// ids become strings; a tree with escapes where the scan compares bytes goes through JsonReader.

import { corrupt } from '../errors.js';
import { JsonReader } from '../format/json-reader.js';

export interface TreeRefs {
  /** Data blobs of the tree's file nodes, in order, repeats included. */
  readonly content: string[];
  /** Subtrees of the tree's directory nodes. */
  readonly subtrees: string[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const idPattern = /^[0-9a-fA-F]{64}$/;

/** Thrown by the scanner when the tree needs the full reader (escapes where it compares bytes). */
class NeedsReader extends Error {}

class Scanner {
  pos = 0;

  constructor(
    private readonly b: Uint8Array,
    private readonly treeId: string,
  ) {}

  fail(what: string): never {
    throw corrupt(`tree ${this.treeId}: ${what} at offset ${this.pos}`);
  }

  /** The next byte that is not white space (not consumed). */
  peek(): number {
    const b = this.b;
    let c = b[this.pos];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++this.pos];
    if (c === undefined) this.fail('unexpected end');
    return c;
  }

  expect(c: number): void {
    if (this.peek() !== c) this.fail(`expected '${String.fromCharCode(c)}'`);
    this.pos++;
  }

  /** Consumes `,` before the next member, or the closing byte (then returns false). */
  more(close: number, first: boolean): boolean {
    const c = this.peek();
    if (c === close) {
      this.pos++;
      return false;
    }
    if (!first) {
      if (c !== COMMA) this.fail(`expected ',' or '${String.fromCharCode(close)}'`);
      this.pos++;
    }
    return true;
  }

  /** Skips a string; returns [start, end) of its raw contents and whether it has escapes. */
  string(): [start: number, end: number, escaped: boolean] {
    this.expect(QUOTE);
    const b = this.b;
    const start = this.pos;
    let escaped = false;
    for (;;) {
      const c = b[this.pos];
      if (c === undefined) this.fail('unterminated string');
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        this.pos++;
      }
      this.pos++;
    }
    return [start, this.pos++, escaped];
  }

  /** Whether the string's raw bytes equal `word` (ASCII, compared case-insensitively like Go). */
  is([start, end, escaped]: [number, number, boolean], word: string): boolean {
    if (escaped) throw new NeedsReader();
    if (end - start !== word.length) return false;
    for (let i = 0; i < word.length; i++) if ((this.b[start + i]! | 0x20) !== word.charCodeAt(i)) return false;
    return true;
  }

  /** Whether the string's raw bytes are exactly `word` (values, which Go compares exactly). */
  equals([start, end, escaped]: [number, number, boolean], word: string): boolean {
    if (escaped) throw new NeedsReader();
    if (end - start !== word.length) return false;
    for (let i = 0; i < word.length; i++) if (this.b[start + i] !== word.charCodeAt(i)) return false;
    return true;
  }

  /** Fails unless only white space follows. */
  end(): void {
    const b = this.b;
    let c = b[this.pos];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++this.pos];
    if (this.pos !== b.length) this.fail('unexpected data after the tree');
  }

  id(): string {
    const [start, end, escaped] = this.string();
    if (escaped) throw new NeedsReader();
    const id = Buffer.from(this.b.buffer, this.b.byteOffset + start, end - start).toString('latin1');
    if (!idPattern.test(id)) this.fail(`invalid blob id ${JSON.stringify(id)}`);
    return id.toLowerCase();
  }

  null(): boolean {
    if (this.peek() !== 0x6e) return false;
    this.literal();
    return true;
  }

  literal(): void {
    const b = this.b;
    const start = this.pos;
    for (let c = b[this.pos]; c !== undefined && c !== COMMA && c !== CLOSE_OBJECT && c !== CLOSE_ARRAY && c > 0x20; c = b[++this.pos]);
    if (this.pos === start) this.fail('expected a value');
  }

  skip(): void {
    const c = this.peek();
    if (c === QUOTE) this.string();
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
      this.pos++;
      for (let first = true; this.more(close, first); first = false) {
        if (close === CLOSE_OBJECT) {
          this.string();
          this.expect(COLON);
        }
        this.skip();
      }
    } else this.literal();
  }
}

function scan(bytes: Uint8Array, treeId: string): TreeRefs {
  const s = new Scanner(bytes, treeId);
  const content: string[] = [];
  const subtrees: string[] = [];
  s.expect(OPEN_OBJECT);
  for (let first = true; s.more(CLOSE_OBJECT, first); first = false) {
    const key = s.string();
    s.expect(COLON);
    if (!s.is(key, 'nodes')) {
      s.skip();
      continue;
    }
    // A later "nodes" replaces an earlier one, as with Go's decoder.
    content.length = 0;
    subtrees.length = 0;
    if (s.null()) continue;
    s.expect(OPEN_ARRAY);
    for (let firstNode = true; s.more(CLOSE_ARRAY, firstNode); firstNode = false) {
      let type: 'file' | 'dir' | 'other' = 'other';
      let blobs: string[] | undefined;
      let subtree: string | undefined;
      s.expect(OPEN_OBJECT);
      for (let firstField = true; s.more(CLOSE_OBJECT, firstField); firstField = false) {
        const field = s.string();
        s.expect(COLON);
        if (s.null()) {
          if (s.is(field, 'content')) blobs = undefined;
          else if (s.is(field, 'subtree')) subtree = undefined;
        } else if (s.is(field, 'type')) {
          const value = s.string();
          type = s.equals(value, 'file') ? 'file' : s.equals(value, 'dir') ? 'dir' : 'other';
        } else if (s.is(field, 'content')) {
          blobs = [];
          s.expect(OPEN_ARRAY);
          for (let firstId = true; s.more(CLOSE_ARRAY, firstId); firstId = false) blobs.push(s.id());
        } else if (s.is(field, 'subtree')) {
          subtree = s.id();
        } else {
          s.skip();
        }
      }
      if (type === 'file' && blobs) content.push(...blobs);
      else if (type === 'dir') {
        if (subtree === undefined) throw corrupt(`tree ${treeId}: a directory node has no subtree`);
        subtrees.push(subtree);
      }
    }
  }
  s.end();
  return { content, subtrees };
}

function readId(r: JsonReader): string {
  const id = r.readString();
  if (!idPattern.test(id)) r.fail(`invalid blob id ${JSON.stringify(id)}`);
  return id.toLowerCase();
}

/** The same as scan(), through the full JSON reader, for trees with escapes in keys or values. */
function read(bytes: Uint8Array, treeId: string): TreeRefs {
  const r = JsonReader.fromBytes(bytes, `tree ${treeId}`);
  const content: string[] = [];
  const subtrees: string[] = [];
  r.beginObject();
  for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) {
    if (key.toLowerCase() !== 'nodes') {
      r.skipValue();
      continue;
    }
    content.length = 0;
    subtrees.length = 0;
    if (r.readNull()) continue;
    r.beginArray();
    while (r.nextItem()) {
      let type = '';
      let blobs: string[] | undefined;
      let subtree: string | undefined;
      r.beginObject();
      for (let k = r.nextKey(); k !== undefined; k = r.nextKey()) {
        const field = k.toLowerCase();
        if (r.readNull()) {
          if (field === 'content') blobs = undefined;
          else if (field === 'subtree') subtree = undefined;
          continue;
        }
        if (field === 'type') type = r.readString();
        else if (field === 'content') {
          blobs = [];
          r.beginArray();
          while (r.nextItem()) blobs.push(readId(r));
        } else if (field === 'subtree') subtree = readId(r);
        else r.skipValue();
      }
      if (type === 'file' && blobs) content.push(...blobs);
      else if (type === 'dir') {
        if (subtree === undefined) throw corrupt(`tree ${treeId}: a directory node has no subtree`);
        subtrees.push(subtree);
      }
    }
  }
  r.end();
  return { content, subtrees };
}

/**
 * The references of a tree as restic's FindUsedBlobs takes them: the content of `file` nodes and
 * the subtree of `dir` nodes. Keys match case-insensitively, as with Go's decoder.
 */
export function treeRefs(bytes: Uint8Array, treeId: string): TreeRefs {
  try {
    return scan(bytes, treeId);
  } catch (err) {
    if (err instanceof NeedsReader) return read(bytes, treeId);
    throw err;
  }
}
