// The walk that plans a restore: each directory and node the selection keeps is handed on as soon as
// its tree is loaded, so directories are made and contents restored while the walk goes on.

import { corrupt, messageOf } from '../errors.js';
import { goQuote } from '../format/go-quote.js';
import type { Node } from '../format/node.js';
import { nameText } from '../fs/name-text.js';
import { joinPath } from '../fs/paths.js';
import { TreeLoader } from '../repository/tree-loader.js';
import type { Repository } from '../repository/repository.js';
import type { RestoreSelection } from './selection.js';

/** Something with a path inside the restored tree. */
interface Located {
  readonly location: string;
}

/** A non-directory node to restore. Its location text is made only when a message needs it. */
export class PlannedEntry implements Located {
  private text: string | undefined;

  constructor(
    /** Where it goes on disk. */
    readonly path: Buffer,
    readonly node: Node,
    /** Names from the restored tree's root, as text for patterns (empty when nothing filters). */
    readonly comps: readonly string[],
    /** The directory it goes into. */
    readonly parent: PlannedDir,
  ) {}

  /** Its path inside the restored tree, names quoted as restic quotes them (for messages). */
  get location(): string {
    return (this.text ??= displayLocation(this.parent.location, this.node.name));
  }
}

export class PlannedDir implements Located {
  private text: string | undefined;
  /** Every name in its tree, selected or not: what --delete keeps; undefined until its tree is loaded. */
  names: readonly Buffer[] | undefined;

  constructor(
    readonly path: Buffer,
    /** undefined for the target directory itself, whose metadata a restore leaves alone. */
    readonly node: Node | undefined,
    readonly comps: readonly string[],
    readonly depth: number,
    /** undefined for the target. */
    readonly parent: PlannedDir | undefined,
  ) {}

  get location(): string {
    return (this.text ??= this.parent && this.node ? displayLocation(this.parent.location, this.node.name) : '/');
  }
}

export interface PlannedLink {
  readonly entry: PlannedEntry;
  /** The file restored with content; this entry becomes a hard link to it. */
  readonly primary: PlannedEntry;
}

/** What the walk hands on. */
export interface PlanVisitor {
  /** A directory to restore: the target first; a parent before its children, except one restored only for what it holds. */
  dir(dir: PlannedDir): void;
  /** A node to restore that is not a directory; its directory has been handed on or will be. */
  entry(entry: PlannedEntry): void;
  /** Something of the snapshot that cannot be restored: a name that would escape its directory, a tree that cannot be loaded. */
  problem(location: string, message: string): void;
}

/** restic refuses names that would not stay one component below their directory. */
function invalidName(name: Buffer): boolean {
  return name.length === 0 || name.includes(0x2f) || name.includes(0) || (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e)));
}

export function displayLocation(parent: string, name: Buffer): string {
  return (parent === '/' ? '/' : parent + '/') + goQuote(name);
}

class Planner {
  private readonly trees: TreeLoader;

  constructor(
    repo: Repository,
    private readonly selection: RestoreSelection,
    private readonly visitor: PlanVisitor,
  ) {
    this.trees = new TreeLoader(repo);
  }

  /**
   * Walks a directory; resolves whether anything in it (or itself) is restored. A selected
   * directory is handed on as soon as its tree is loaded; one restored only for what it holds
   * is handed on once that is known.
   */
  async walk(dir: PlannedDir, tree: string, selected: boolean): Promise<boolean> {
    let nodes: Node[];
    try {
      nodes = await this.trees.load(tree);
    } catch (err) {
      // As restic: reported, and the rest of the snapshot is still restored. Nothing may be
      // deleted from a directory whose content is unknown (names stay undefined).
      this.visitor.problem(dir.location, `cannot load its tree: ${messageOf(err)}`);
      if (selected) this.visitor.dir(dir);
      return selected;
    }
    dir.names = nodes.map((n) => n.name);
    if (selected) this.visitor.dir(dir);
    this.trees.prefetch(nodes.flatMap((n) => (n.type === 'dir' && n.subtree !== null ? [n.subtree] : [])));
    let any = false;
    const below: Promise<boolean>[] = [];
    for (const node of nodes) {
      // Only directories wait for anything; the other nodes are handed on at once.
      const restored = this.walkNode(dir, tree, node);
      if (restored === true) any = true;
      else if (restored !== false) below.push(restored);
    }
    if (below.length > 0 && (await Promise.all(below)).includes(true)) any = true;
    if (!selected && any) this.visitor.dir(dir);
    return selected || any;
  }

  private walkNode(parent: PlannedDir, tree: string, node: Node): boolean | Promise<boolean> {
    if (invalidName(node.name)) {
      this.visitor.problem(displayLocation(parent.location, node.name), `invalid node name ${JSON.stringify(node.name.toString('utf8'))}`);
      return false;
    }
    const isDir = node.type === 'dir';
    let selected = true;
    let descend = isDir;
    let comps = parent.comps;
    // Names as text cost time on large trees and only patterns need them.
    if (this.selection.filtered) {
      comps = [...parent.comps, nameText(node.name)];
      ({ selected, descend } = this.selection.select(comps, isDir));
    }
    const path = joinPath(parent.path, node.name);
    if (!isDir) {
      if (selected) this.visitor.entry(new PlannedEntry(path, node, comps, parent));
      return selected;
    }
    const dir = new PlannedDir(path, node, comps, parent.depth + 1, parent);
    if (node.subtree === null) throw corrupt(`tree ${tree}: directory ${dir.location} has no subtree`);
    if (descend) return this.walk(dir, node.subtree, selected);
    // Selected but not walked into: restored empty.
    if (selected) this.visitor.dir(dir);
    return selected;
  }
}

/** Walks the tree `root`, to be restored into `target`, handing on what the selection keeps. */
export async function walkRestore(repo: Repository, root: string, target: Buffer, selection: RestoreSelection, visitor: PlanVisitor): Promise<void> {
  await new Planner(repo, selection, visitor).walk(new PlannedDir(target, undefined, [], 0, undefined), root, true);
}
