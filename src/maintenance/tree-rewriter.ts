// Rewriting a snapshot's trees bottom up (rewrite, repair snapshots) from their raw JSON: a dropped
// node disappears, an edited one changes only those fields, an untouched tree keeps its id.

import { goJsonString } from '../format/go-json.js';
import { hashId } from '../format/id.js';
import { JsonReader } from '../format/json-reader.js';
import { decodeNode, type Node } from '../format/node.js';
import type { Repository } from '../repository/repository.js';

/** Fields to change in a node: content and size of a file (repair). */
export interface NodeEdit {
  readonly content?: readonly string[];
  readonly size?: bigint;
}

export interface RewriteRules {
  /**
   * Decides about one node: undefined keeps it, null drops it, an edit changes it. `node` is
   * undefined when the node's JSON cannot be decoded; `problem` then says why.
   */
  node(node: Node | undefined, path: string, problem?: string): NodeEdit | null | undefined;
  /**
   * A tree that cannot be loaded: 'empty' puts an empty directory in its place, 'drop' removes
   * the directory. Throwing (the default) fails the rewrite.
   */
  failedTree?(id: string, path: string, err: unknown): 'empty' | 'drop';
  /** The decisions depend on the path (excludes), so a tree met at two paths is rewritten twice. */
  readonly pathDependent: boolean;
}

export interface RewrittenTree {
  /** The new tree's id, or null when the tree is dropped. */
  readonly id: string | null;
  /** Files (and their bytes) in the rewritten tree, for the snapshot summary. */
  readonly files: number;
  readonly bytes: bigint;
}

/** Go's field order of a node: where a field that was omitted (zero) goes when it is set. */
const fieldOrder = ['name', 'type', 'mode', 'mtime', 'atime', 'ctime', 'uid', 'gid', 'user', 'group', 'inode', 'device_id', 'size', 'links', 'linktarget', 'linktarget_raw', 'extended_attributes', 'device', 'content', 'subtree', 'error'];

type Field = [key: string, raw: string];

function fieldsOf(raw: string): Field[] {
  const r = new JsonReader(raw, 'tree node');
  const fields: Field[] = [];
  r.beginObject();
  for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) fields.push([key, r.rawValue()]);
  return fields;
}

/** Replaces (or with undefined removes) a field, matching its key as Go does, case-insensitively. */
function setField(fields: Field[], key: string, raw: string | undefined): void {
  const at = fields.findIndex(([k]) => k.toLowerCase() === key);
  if (at >= 0) {
    if (raw === undefined) fields.splice(at, 1);
    else fields[at] = [fields[at]![0], raw];
    return;
  }
  if (raw === undefined) return;
  const rank = fieldOrder.indexOf(key);
  const before = fields.findIndex(([k]) => fieldOrder.indexOf(k.toLowerCase()) > rank);
  fields.splice(before < 0 ? fields.length : before, 0, [key, raw]);
}

function editedNode(raw: string, edit: NodeEdit, subtree?: string): string {
  const fields = fieldsOf(raw);
  if (edit.content) setField(fields, 'content', '[' + edit.content.map((id) => `"${id}"`).join(',') + ']');
  if (edit.size !== undefined) setField(fields, 'size', edit.size === 0n ? undefined : String(edit.size));
  if (subtree !== undefined) setField(fields, 'subtree', `"${subtree}"`);
  return '{' + fields.map(([k, v]) => goJsonString(k) + ':' + v).join(',') + '}';
}

/** The raw JSON of each node of a tree blob. */
function rawNodes(bytes: Buffer, id: string): string[] {
  const r = JsonReader.fromBytes(bytes, `tree ${id}`);
  const nodes: string[] = [];
  r.beginObject();
  for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) {
    if (key.toLowerCase() !== 'nodes') {
      r.skipValue();
      continue;
    }
    nodes.length = 0;
    if (r.readNull()) continue;
    r.beginArray();
    while (r.nextItem()) nodes.push(r.rawValue());
  }
  r.end();
  return nodes;
}

const joinPath = (dir: string, name: string) => (dir === '/' ? '/' + name : dir + '/' + name);

export class TreeRewriter {
  private readonly done = new Map<string, RewrittenTree>();

  /** `dryRun` computes the new ids without saving anything. */
  constructor(
    private readonly repo: Repository,
    private readonly rules: RewriteRules,
    private readonly dryRun: boolean,
  ) {}

  /** Rewrites the tree `id` found at `path` ('/' for a snapshot's root). */
  async rewrite(path: string, id: string): Promise<RewrittenTree> {
    const key = this.rules.pathDependent ? path + '\0' + id : id;
    const known = this.done.get(key);
    if (known) return known;
    let raws: string[];
    try {
      raws = rawNodes(await this.repo.loadBlob('tree', id), id);
    } catch (err) {
      if (!this.rules.failedTree) throw err;
      const replacement = this.rules.failedTree(id, path, err);
      const result = replacement === 'drop' ? { id: null, files: 0, bytes: 0n } : { id: await this.save([]), files: 0, bytes: 0n };
      this.done.set(key, result);
      return result;
    }

    const out: string[] = [];
    let files = 0;
    let bytes = 0n;
    for (const raw of raws) {
      let node: Node | undefined;
      let problem: string | undefined;
      try {
        node = decodeNode(raw);
      } catch (err) {
        problem = err instanceof Error ? err.message : String(err);
      }
      const at = node ? joinPath(path, node.name.toString('utf8')) : path;
      const edit = this.rules.node(node, at, problem);
      if (edit === null) continue;
      if (!node) {
        out.push(raw);
        continue;
      }
      let subtree: string | undefined;
      if (node.type === 'dir') {
        // A directory without a subtree is a tree that cannot be loaded, as for restic.
        const sub = await this.rewrite(at, node.subtree ?? '');
        if (sub.id === null) continue;
        files += sub.files;
        bytes += sub.bytes;
        if (sub.id !== node.subtree) subtree = sub.id;
      }
      if (node.type === 'file') {
        files++;
        bytes += edit?.size ?? node.size;
      }
      out.push(edit || subtree !== undefined ? editedNode(raw, edit ?? {}, subtree) : raw);
    }
    const changed = out.length !== raws.length || out.some((raw, i) => raw !== raws[i]);
    const result = { id: changed ? await this.save(out) : id, files, bytes };
    this.done.set(key, result);
    return result;
  }

  /** Waits until every tree saved so far is stored and indexed. */
  async flush(): Promise<void> {
    if (!this.dryRun) await this.repo.flush();
  }

  private async save(nodes: readonly string[]): Promise<string> {
    const bytes = Buffer.from('{"nodes":[' + nodes.join(',') + ']}\n', 'utf8');
    if (this.dryRun) return hashId(bytes);
    await this.repo.ready();
    return (await this.repo.saveBlob('tree', bytes)).id;
  }
}
