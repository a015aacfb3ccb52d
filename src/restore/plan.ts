// The walk that plans a restore: each directory and node the selection keeps is handed on as soon as
// its tree is loaded, so directories are made and contents restored while the walk goes on.

import { corrupt, messageOf } from '../errors.js';
import type { NodeType } from '../format/file-mode.js';
import { splitNanoseconds } from '../format/go-json.js';
import { goQuote } from '../format/go-quote.js';
import { ID_SIZE } from '../format/id.js';
import type { ExtendedAttribute, Node } from '../format/node.js';
import { nameText } from '../fs/name-text.js';
import { joinPath } from '../fs/paths.js';
import { TreeLoader } from '../repository/tree-loader.js';
import type { Repository } from '../repository/repository.js';
import type { FileJob } from './file-writer.js';
import { type NodeMetadata, nodeMetadata, ownAttributes } from './metadata.js';
import type { RestoreSelection } from './selection.js';

/** Something with a path inside the restored tree. */
interface Located {
  readonly type: NodeType;
  readonly location: string;
}

/** A node to restore that is neither a directory nor a regular file. Its texts are made only when needed. */
export class PlannedEntry implements Located {
  private text: string | undefined;

  constructor(
    readonly node: Node,
    /** The directory it goes into. */
    readonly parent: PlannedDir,
  ) {}

  get type(): NodeType {
    return this.node.type;
  }

  /** Where it goes on disk. */
  get path(): Buffer {
    return joinPath(this.parent.path, this.node.name);
  }

  /** Its path inside the restored tree, names quoted as restic quotes them (for messages). */
  get location(): string {
    return (this.text ??= displayLocation(this.parent.location, this.node.name));
  }
}

const NS_PER_S = 1_000_000_000n;

/**
 * A regular file to restore, reduced to what writing its content and metadata takes: a restore
 * holds one for every file until that file's content is in, which for a large tree is most of them
 * at once, so the decoded tree node is not kept. Paths and texts are made when they are needed.
 */
export class PlannedFile implements Located, NodeMetadata {
  /** Its job, once its content is being written. */
  job: FileJob | undefined;

  constructor(
    /** The directory it goes into. */
    readonly parent: PlannedDir,
    /** The name's bytes as latin1 text: a short string costs a fraction of a Buffer. */
    private readonly nameBytes: string,
    readonly size: number,
    readonly mode: number,
    readonly uid: number,
    readonly gid: number,
    /** Times as whole seconds and nanoseconds: small integers, which cost nothing to hold, where bigints are objects. */
    private readonly atimeSeconds: number,
    private readonly atimeNanos: number,
    private readonly mtimeSeconds: number,
    private readonly mtimeNanos: number,
    readonly extendedAttributes: readonly ExtendedAttribute[],
    /**
     * The data blob ids' bytes one after the other, as latin1 text: a fresh string of 32 bytes a
     * blob. The tree node's ids are slices of the tree's whole text, and would keep it alive.
     */
    private readonly contentBytes: string,
  ) {}

  static of(node: Node, parent: PlannedDir): PlannedFile {
    const attributes = ownAttributes(node.extendedAttributes);
    const contentBytes = Buffer.from((node.content ?? []).join(''), 'hex').toString('latin1');
    const [atimeSeconds, atimeNanos] = splitNanoseconds(node.atime.ns);
    const [mtimeSeconds, mtimeNanos] = splitNanoseconds(node.mtime.ns);
    const name = node.name.toString('latin1');
    return new PlannedFile(parent, name, Number(node.size), node.mode, node.uid, node.gid, atimeSeconds, atimeNanos, mtimeSeconds, mtimeNanos, attributes, contentBytes);
  }

  get atimeNs(): bigint {
    return BigInt(this.atimeSeconds) * NS_PER_S + BigInt(this.atimeNanos);
  }

  get mtimeNs(): bigint {
    return BigInt(this.mtimeSeconds) * NS_PER_S + BigInt(this.mtimeNanos);
  }

  /** Data blob ids, in order. */
  get content(): string[] {
    const bytes = Buffer.from(this.contentBytes, 'latin1');
    const ids: string[] = [];
    for (let at = 0; at < bytes.length; at += ID_SIZE) ids.push(bytes.toString('hex', at, at + ID_SIZE));
    return ids;
  }

  get type(): 'file' {
    return 'file';
  }

  /** Where it goes on disk, as latin1 text of its bytes (what the writer threads are sent). */
  get pathText(): string {
    return this.parent.childPathText(this.nameBytes);
  }

  get path(): Buffer {
    return Buffer.from(this.pathText, 'latin1');
  }

  get location(): string {
    return displayLocation(this.parent.location, Buffer.from(this.nameBytes, 'latin1'));
  }
}

export class PlannedDir implements Located {
  private text: string | undefined;
  private pathLatin1: string | undefined;
  /**
   * Every name in its tree, selected or not: what --delete keeps; undefined until its tree is
   * loaded, and when the walk was not asked to keep names.
   */
  names: readonly Buffer[] | undefined;

  constructor(
    readonly path: Buffer,
    /** Its name; undefined for the target directory itself. */
    readonly name: Buffer | undefined,
    /** undefined for the target directory, whose metadata a restore leaves alone. */
    readonly metadata: NodeMetadata | undefined,
    readonly comps: readonly string[],
    readonly depth: number,
    /** undefined for the target. */
    readonly parent: PlannedDir | undefined,
  ) {}

  get type(): 'dir' {
    return 'dir';
  }

  get location(): string {
    return (this.text ??= this.parent && this.name ? displayLocation(this.parent.location, this.name) : '/');
  }

  /** The path of a child (its name as latin1 text) as latin1 text. */
  childPathText(name: string): string {
    this.pathLatin1 ??= this.path.toString('latin1');
    return this.pathLatin1.endsWith('/') ? this.pathLatin1 + name : this.pathLatin1 + '/' + name;
  }
}

export interface PlannedLink {
  readonly entry: PlannedFile;
  /** The file restored with content; this entry becomes a hard link to it. */
  readonly primary: PlannedFile;
}

/** What the walk hands on. */
export interface PlanVisitor {
  /** A directory to restore: the target first; a parent before its children, except one restored only for what it holds. */
  dir(dir: PlannedDir): void;
  /**
   * A regular file to restore; its directory has been handed on or will be. `linkKey` tells the
   * files of a hard-link group: undefined for a file without other links.
   */
  file(file: PlannedFile, linkKey: string | undefined): void;
  /** Any other node to restore that is not a directory, likewise. */
  entry(entry: PlannedEntry): void;
  /** Something of the snapshot that cannot be restored: a name that would escape its directory, a tree that cannot be loaded. */
  problem(location: string, message: string): void;
}

export interface PlanOptions {
  /** Keep every directory's names (PlannedDir.names), for --delete. */
  readonly keepNames: boolean;
}

/** restic refuses names that would not stay one component below their directory. */
function invalidName(name: Buffer): boolean {
  return name.length === 0 || name.includes(0x2f) || name.includes(0) || (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e)));
}

/** Inode and device of a file with other hard links, which tell its group; undefined for the others. */
function hardLinkKey(node: Node): string | undefined {
  // Nodes without an inode (other tools, other systems) cannot be told apart: never linked.
  return node.links <= 1n || node.inode === 0n ? undefined : `${node.inode}:${node.deviceId}`;
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
    private readonly options: PlanOptions,
  ) {
    this.trees = new TreeLoader(repo);
  }

  /**
   * Walks a directory; resolves whether anything in it (or itself) is restored. A selected
   * directory is handed on as soon as its tree is loaded; one restored only for what it holds
   * is handed on once that is known.
   */
  async walk(dir: PlannedDir, tree: string, selected: boolean): Promise<boolean> {
    const walked = await this.walkTree(dir, tree, selected);
    if (!walked) return selected;
    const restoredBelow = walked.below.length > 0 && (await Promise.all(walked.below)).includes(true);
    const restored = walked.any || restoredBelow;
    if (!selected && restored) this.visitor.dir(dir);
    return selected || restored;
  }

  /**
   * Loads a directory's tree and hands on its nodes (only subdirectories wait for anything);
   * resolves whether one was restored, and the walks of its subdirectories. Its frame ends there,
   * so the decoded tree is not kept alive while they go on. Undefined when the tree cannot be loaded.
   */
  private async walkTree(dir: PlannedDir, tree: string, selected: boolean): Promise<{ any: boolean; below: Promise<boolean>[] } | undefined> {
    let nodes: Node[];
    try {
      nodes = await this.trees.load(tree);
    } catch (err) {
      // As restic: reported, and the rest of the snapshot is still restored. Nothing may be
      // deleted from a directory whose content is unknown (names stay undefined).
      this.visitor.problem(dir.location, `cannot load its tree: ${messageOf(err)}`);
      if (selected) this.visitor.dir(dir);
      return undefined;
    }
    if (this.options.keepNames) dir.names = nodes.map((n) => n.name);
    if (selected) this.visitor.dir(dir);
    this.trees.prefetch(nodes.flatMap((n) => (n.type === 'dir' && n.subtree !== null ? [n.subtree] : [])));
    let any = false;
    const below: Promise<boolean>[] = [];
    for (const node of nodes) {
      const restored = this.walkNode(dir, tree, node);
      if (restored === true) any = true;
      else if (restored !== false) below.push(restored);
    }
    return { any, below };
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
    if (!isDir) {
      if (!selected) return false;
      if (node.type === 'file') this.visitor.file(PlannedFile.of(node, parent), hardLinkKey(node));
      else this.visitor.entry(new PlannedEntry(node, parent));
      return true;
    }
    // Not the node itself: its subtree id is a slice of the tree's text, which it would keep alive.
    const dir = new PlannedDir(joinPath(parent.path, node.name), node.name, nodeMetadata(node), comps, parent.depth + 1, parent);
    if (node.subtree === null) throw corrupt(`tree ${tree}: directory ${dir.location} has no subtree`);
    if (descend) return this.walk(dir, node.subtree, selected);
    // Selected but not walked into: restored empty.
    if (selected) this.visitor.dir(dir);
    return selected;
  }
}

/** Walks the tree `root`, to be restored into `target`, handing on what the selection keeps. */
export async function walkRestore(repo: Repository, root: string, target: Buffer, selection: RestoreSelection, visitor: PlanVisitor, options: PlanOptions): Promise<void> {
  await new Planner(repo, selection, visitor, options).walk(new PlannedDir(target, undefined, undefined, [], 0, undefined), root, true);
}
