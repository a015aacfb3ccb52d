// diff: the changes from one snapshot to another, with restic 0.14's modifiers and statistics. A
// subtree with the same id on both sides is not compared; it is read only if the statistics need it.

import { HoldfastError } from '../errors.js';
import { compareNames } from '../format/tree.js';
import type { Node } from '../format/node.js';
import type { BlobType } from '../format/pack.js';
import { loadTree } from '../repository/trees.js';
import type { Repository } from '../repository/repository.js';
import { blobSize } from './blob-size.js';
import { nodesEqual, sameContent } from './node-equality.js';
import { SubtreePrefetch } from './subtree-prefetch.js';
import { nodeName } from './tree-walk.js';

export interface DiffChange {
  /** Directories end in `/`. */
  readonly path: string;
  /** `+` added, `-` removed, `M` content modified, `T` type changed, `U` metadata updated (TU, ...). */
  readonly modifier: string;
}

export interface DiffStat {
  files: number;
  dirs: number;
  others: number;
  dataBlobs: number;
  treeBlobs: number;
  /** Plaintext bytes of those blobs. */
  bytes: number;
}

export interface DiffResult {
  readonly changedFiles: number;
  readonly added: DiffStat;
  readonly removed: DiffStat;
}

export interface DiffOptions {
  /** Also report nodes whose metadata changed (U). */
  readonly metadata: boolean;
  readonly onChange: (change: DiffChange) => void;
  /** Problems that do not stop the comparison (an unreadable subtree, a blob missing from the index). */
  readonly warn: (message: string) => void;
}

const newStat = (): DiffStat => ({ files: 0, dirs: 0, others: 0, dataBlobs: 0, treeBlobs: 0, bytes: 0 });

/** Blob keys: type letter and id, so one set holds both kinds. */
const dataKey = (id: string) => 'd' + id;
const treeKey = (id: string) => 't' + id;

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : dir + '/' + name;
}

function count(stat: DiffStat, node: Node): void {
  if (node.type === 'file') stat.files++;
  else if (node.type === 'dir') stat.dirs++;
  else stat.others++;
}

function addBlobs(blobs: Set<string>, node: Node): void {
  if (node.type === 'file') for (const id of node.content ?? []) blobs.add(dataKey(id));
  else if (node.type === 'dir' && node.subtree !== null) blobs.add(treeKey(node.subtree));
}

class Comparer {
  readonly before = new Set<string>();
  readonly after = new Set<string>();
  /** Subtrees identical on both sides: their blobs count as neither added nor removed. */
  readonly common = new Set<string>();
  readonly added = newStat();
  readonly removed = newStat();
  changedFiles = 0;

  constructor(
    private readonly repo: Repository,
    private readonly options: DiffOptions,
  ) {}

  private async guarded(what: Promise<void>): Promise<void> {
    try {
      await what;
    } catch (err) {
      if (!(err instanceof HoldfastError)) throw err;
      this.options.warn(`error: ${err.message}`);
    }
  }

  /** Every node below a removed or added directory. */
  async printDir(modifier: '+' | '-', stat: DiffStat, blobs: Set<string>, dir: string, tree: string, loaded?: Node[]): Promise<void> {
    const nodes = loaded ?? (await loadTree(this.repo, tree));
    const ahead = new SubtreePrefetch(this.repo, nodes);
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      const path = join(dir, nodeName(node)) + (node.type === 'dir' ? '/' : '');
      this.options.onChange({ path, modifier });
      count(stat, node);
      addBlobs(blobs, node);
      if (node.type === 'dir' && node.subtree !== null) {
        const subtree = node.subtree;
        await this.guarded(ahead.take(i).then((sub) => this.printDir(modifier, stat, blobs, path, subtree, sub)));
      }
    }
  }

  private async sideOnly(modifier: '+' | '-', node: Node, dir: string): Promise<void> {
    const [stat, blobs] = modifier === '+' ? [this.added, this.after] : [this.removed, this.before];
    const path = join(dir, nodeName(node)) + (node.type === 'dir' ? '/' : '');
    this.options.onChange({ path, modifier });
    count(stat, node);
    if (node.type === 'dir' && node.subtree !== null) await this.guarded(this.printDir(modifier, stat, blobs, path, node.subtree));
  }

  private async both(a: Node, b: Node, dir: string): Promise<void> {
    const path = join(dir, nodeName(b)) + (b.type === 'dir' ? '/' : '');
    let modifier = a.type !== b.type ? 'T' : '';
    if (a.type === 'file' && b.type === 'file' && !sameContent(a.content, b.content)) {
      modifier += 'M';
      this.changedFiles++;
    } else if (this.options.metadata && !nodesEqual(a, b)) {
      modifier += 'U';
    }
    if (modifier !== '') this.options.onChange({ path, modifier });
    if (a.type === 'dir' && b.type === 'dir' && a.subtree !== null && b.subtree !== null) {
      if (a.subtree === b.subtree) this.common.add(a.subtree);
      else await this.guarded(this.diffTree(path, a.subtree, b.subtree));
    }
  }

  /** Walks both trees side by side in name order. */
  async diffTree(dir: string, treeA: string, treeB: string): Promise<void> {
    const [nodesA, nodesB] = await Promise.all([loadTree(this.repo, treeA), loadTree(this.repo, treeB)]);
    const sort = (nodes: Node[]) => nodes.sort((x, y) => compareNames(x.name, y.name));
    sort(nodesA);
    sort(nodesB);
    let i = 0;
    let j = 0;
    while (i < nodesA.length || j < nodesB.length) {
      const a = nodesA[i];
      const b = nodesB[j];
      const order = a === undefined ? 1 : b === undefined ? -1 : compareNames(a.name, b.name);
      if (order === 0) {
        addBlobs(this.before, a!);
        addBlobs(this.after, b!);
        await this.both(a!, b!, dir);
        i++;
        j++;
      } else if (order < 0) {
        addBlobs(this.before, a!);
        await this.sideOnly('-', a!, dir);
        i++;
      } else {
        addBlobs(this.after, b!);
        await this.sideOnly('+', b!, dir);
        j++;
      }
    }
  }

  /**
   * Blobs on one side only, unless an identical subtree uses them too. The shared subtrees are
   * searched only for those blobs, each tree once, and only until all of them are accounted for.
   */
  async oneSided(): Promise<{ removed: Set<string>; added: Set<string> }> {
    const removed = new Set([...this.before].filter((k) => !this.after.has(k)));
    const added = new Set([...this.after].filter((k) => !this.before.has(k)));
    const open = new Set([...removed, ...added]);
    const visited = new Set<string>();
    const search = async (tree: string, loaded?: Node[]): Promise<void> => {
      if (open.size === 0 || visited.has(tree)) return;
      visited.add(tree);
      const nodes = loaded ?? (await loadTree(this.repo, tree));
      for (const node of nodes) {
        if (node.type === 'file') for (const id of node.content ?? []) open.delete(dataKey(id));
        else if (node.type === 'dir' && node.subtree !== null) open.delete(treeKey(node.subtree));
      }
      const ahead = new SubtreePrefetch(this.repo, nodes);
      for (let i = 0; i < nodes.length; i++) {
        const subtree = nodes[i]!.subtree;
        if (nodes[i]!.type !== 'dir' || subtree === null) continue;
        if (open.size === 0 || visited.has(subtree)) ahead.skip(i);
        else await search(subtree, await ahead.take(i));
      }
    };
    for (const tree of this.common) await this.guarded(search(tree));
    for (const set of [removed, added]) for (const k of set) if (!open.has(k)) set.delete(k);
    return { removed, added };
  }

  tally(keys: Set<string>, stat: DiffStat): void {
    for (const key of keys) {
      const type: BlobType = key[0] === 't' ? 'tree' : 'data';
      const id = key.slice(1);
      if (type === 'tree') stat.treeBlobs++;
      else stat.dataBlobs++;
      const size = blobSize(this.repo, type, id);
      if (size === undefined) this.options.warn(`unable to find blob size for <${type}/${id.slice(0, 8)}>`);
      else stat.bytes += size.plaintext;
    }
  }
}

/**
 * Compares the trees of two snapshots (the repository's index must be loaded): reports changes in
 * path order as they are found and returns the counts and the sizes of blobs only one side uses.
 */
export async function diffSnapshots(repo: Repository, treeA: string, treeB: string, options: DiffOptions): Promise<DiffResult> {
  const c = new Comparer(repo, options);
  c.before.add(treeKey(treeA));
  c.after.add(treeKey(treeB));
  await c.diffTree('/', treeA, treeB);
  const { removed, added } = await c.oneSided();
  c.tally(removed, c.removed);
  c.tally(added, c.added);
  return { changedFiles: c.changedFiles, added: c.added, removed: c.removed };
}
