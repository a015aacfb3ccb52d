// Reads a YAML document node by node with line numbers, collecting every problem instead of
// stopping at the first one, so a user sees at once all that is wrong with a configuration.

import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import { HoldfastError } from '../errors.js';

export interface Problem {
  readonly line: number;
  readonly message: string;
}

/** An invalid configuration: every problem, each with its line. */
export class ConfigError extends HoldfastError {
  constructor(
    readonly file: string,
    readonly problems: readonly Problem[],
  ) {
    const lines = problems.map((p) => `${file}:${p.line}: ${p.message}`);
    super('ERR_CONFIG', `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the configuration:\n${lines.join('\n')}`);
  }
}

export type At = Node | number | undefined;

export class YamlReader {
  readonly problems: Problem[] = [];
  readonly root: Node | undefined;
  private readonly lines = new LineCounter();
  private readonly doc: Document;

  constructor(text: string) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true });
    for (const e of [...this.doc.errors, ...this.doc.warnings]) {
      // The parser's message ends with its own position and a excerpt; the line number says it.
      const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      this.problems.push({ line: e.linePos?.[0].line ?? 1, message });
    }
    this.root = this.resolve(this.doc.contents);
  }

  lineOf(at: At): number {
    if (typeof at === 'number') return at;
    const offset = at?.range?.[0];
    return offset === undefined ? 1 : this.lines.linePos(offset).line;
  }

  problem(at: At, message: string): void {
    this.problems.push({ line: this.lineOf(at), message });
  }

  /** An alias stands for the node it names (`notify: *ops`). */
  resolve(node: unknown): Node | undefined {
    if (isAlias(node)) return this.resolve(node.resolve(this.doc));
    return node === null || node === undefined ? undefined : (node as Node);
  }

  /** A mapping's keys; `at` is where it is named (its key), for problems about the whole mapping. */
  map(node: Node | undefined, what: string, at: At = node): MapFields | undefined {
    if (isMap(node)) return new MapFields(this, node, what, this.lineOf(at));
    this.problem(at, `${what}: expected a mapping of keys to values`);
    return undefined;
  }

  /** A scalar as text: strings, and numbers as written (`0`, `5`). */
  text(node: Node | undefined, what: string): string | undefined {
    if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number')) {
      return typeof node.value === 'string' ? node.value : (node.source ?? String(node.value));
    }
    this.problem(node, `${what}: expected a text value`);
    return undefined;
  }

  bool(node: Node | undefined, what: string): boolean | undefined {
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    this.problem(node, `${what}: expected true or false`);
    return undefined;
  }

  integer(node: Node | undefined, what: string): number | undefined {
    if (isScalar(node) && typeof node.value === 'number' && Number.isSafeInteger(node.value)) return node.value;
    this.problem(node, `${what}: expected a whole number`);
    return undefined;
  }

  /** A list of texts; a single text is a list of one. */
  texts(node: Node | undefined, what: string): string[] | undefined {
    if (!isSeq(node)) {
      const one = this.text(node, what);
      return one === undefined ? undefined : [one];
    }
    const out: string[] = [];
    for (const item of node.items) {
      const t = this.text(this.resolve(item), what);
      if (t !== undefined) out.push(t);
    }
    return out;
  }

  /** The items of a list, or problems when it is not one. */
  list(node: Node | undefined, what: string): Node[] {
    if (isSeq(node)) return node.items.map((i) => this.resolve(i)).filter((i): i is Node => i !== undefined);
    this.problem(node, `${what}: expected a list`);
    return [];
  }
}

/** The keys of one mapping; keys nobody asked for are reported as unknown by finish(). */
export class MapFields {
  private readonly taken = new Set<string>();

  constructor(
    private readonly reader: YamlReader,
    readonly node: YAMLMap,
    private readonly what: string,
    /** The line where the mapping is named, for problems about a missing key. */
    readonly line: number,
  ) {}

  /** Every entry, for mappings whose keys are names (plans, headers). */
  entries(): Array<{ key: string; keyNode: Node; value: Node | undefined }> {
    const out: Array<{ key: string; keyNode: Node; value: Node | undefined }> = [];
    for (const pair of this.node.items) {
      const keyNode = pair.key as Node;
      if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
        this.reader.problem(keyNode, `${this.what}: keys must be plain names`);
        continue;
      }
      this.taken.add(String(keyNode.value));
      out.push({ key: String(keyNode.value), keyNode, value: this.reader.resolve(pair.value) });
    }
    return out;
  }

  has(key: string): boolean {
    return this.node.items.some((p) => isScalar(p.key) && p.key.value === key);
  }

  /** The value of a key (undefined when absent); a present key with no value is an empty scalar. */
  get(key: string): Node | undefined {
    this.taken.add(key);
    const pair = this.node.items.find((p) => isScalar(p.key) && p.key.value === key);
    return pair ? (this.reader.resolve(pair.value) ?? (pair.key as Node)) : undefined;
  }

  /** The key itself, to name a section where it starts. */
  keyOf(key: string): Node | undefined {
    return this.node.items.find((p) => isScalar(p.key) && p.key.value === key)?.key as Node | undefined;
  }

  finish(): void {
    for (const pair of this.node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key !== undefined && this.taken.has(key)) continue;
      const hint = key === '<<' ? ' (merge keys are not supported; an alias can stand for a whole value)' : '';
      this.reader.problem(pair.key as Node, `${this.what}: unknown key "${key ?? '?'}"${hint}`);
    }
  }
}
