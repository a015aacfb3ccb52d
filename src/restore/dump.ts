// dump: a snapshot's file to a stream, or a directory as a tar or zip of its contents named by their
// path in the snapshot (as restic 0.14), every blob verified; hard links become tar link entries.

import type { Writable } from 'node:stream';
import { HoldfastError } from '../errors.js';
import { posixFromGoMode } from '../format/file-mode.js';
import type { Node } from '../format/node.js';
import { joinPath } from '../fs/paths.js';
import { TreeLoader } from '../repository/tree-loader.js';
import { findSnapshot, type SnapshotEntry, type SnapshotFilter } from '../repository/snapshots.js';
import type { Repository } from '../repository/repository.js';
import { BlobSequence } from './blob-sequence.js';
import { splitDevice } from './posix-helper.js';
import { findNode, pathComponents } from './snapshot-path.js';
import { writeAll } from './stream-write.js';
import { type TarEntryType, TarWriter } from './tar-writer.js';
import { ZipWriter } from './zip-writer.js';

export type ArchiveFormat = 'tar' | 'zip';

export interface DumpOptions {
  /** Archive format for directories (default tar). */
  readonly archive?: ArchiveFormat;
  /** Picks the snapshot when it is given as `latest`. */
  readonly filter?: SnapshotFilter;
}

export interface DumpResult {
  readonly snapshotId: string;
  /** What was written: the file's content, or an archive. */
  readonly kind: 'file' | ArchiveFormat;
  /** Entries in the archive (1 for a file). */
  readonly entries: number;
  /** Content bytes written (without archive headers). */
  readonly bytes: number;
}

interface DumpEntry {
  /** The entry's name in the archive: its path in the snapshot without the leading slash. */
  readonly name: Buffer;
  readonly node: Node;
}

/** Entries ahead of the writer whose blobs may already be loading. */
const LOOKAHEAD = 256;

/** The nodes below a tree in restic's walking order (a directory before its contents). */
async function* walk(trees: TreeLoader, tree: string, prefix: Buffer): AsyncIterable<DumpEntry> {
  const nodes = await trees.load(tree);
  trees.prefetch(nodes.flatMap((n) => (n.type === 'dir' && n.subtree !== null ? [n.subtree] : [])));
  for (const node of nodes) {
    const name = prefix.length === 0 ? node.name : joinPath(prefix, node.name);
    yield { name, node };
    if (node.type === 'dir' && node.subtree !== null) yield* walk(trees, node.subtree, name);
  }
}

/** The blobs of a file in order from the sequence, as the archive writers take content. */
async function* content(blobs: BlobSequence, node: Node, counted: { bytes: number }): AsyncIterable<Buffer> {
  for (let i = 0; i < (node.content ?? []).length; i++) {
    const blob = await blobs.next();
    counted.bytes += blob.length;
    yield blob;
  }
}

function tarType(node: Node): TarEntryType | undefined {
  switch (node.type) {
    case 'file':
    case 'dir':
    case 'symlink':
    case 'fifo':
    case 'chardev':
      return node.type;
    case 'dev':
      return 'blockdev';
    default:
      return undefined;
  }
}

async function dumpArchive(repo: Repository, tree: string, prefix: Buffer, out: Writable, format: ArchiveFormat): Promise<{ entries: number; bytes: number }> {
  const trees = new TreeLoader(repo);
  const blobs = new BlobSequence(repo);
  const tar = format === 'tar' ? new TarWriter(out) : undefined;
  const zip = format === 'zip' ? new ZipWriter(out) : undefined;
  const counted = { bytes: 0 };
  let entries = 0;
  /** Hard-link groups seen so far (tar only): later members become link entries, their blobs unread. */
  const groups = new Set<string>();
  /** The name each group's first member was written under. */
  const linked = new Map<string, Buffer>();
  const ahead: (DumpEntry & { readonly link: string | undefined })[] = [];
  const source = walk(trees, tree, prefix)[Symbol.asyncIterator]();
  let more = true;
  const fill = async () => {
    while (more && ahead.length < LOOKAHEAD) {
      const r = await source.next();
      if (r.done) {
        more = false;
        break;
      }
      const node = r.value.node;
      const link = tar && node.type === 'file' && node.links > 1n && node.inode !== 0n ? `${node.inode}:${node.deviceId}` : undefined;
      const copy = link !== undefined && groups.has(link);
      if (link !== undefined) groups.add(link);
      ahead.push({ ...r.value, link });
      if (node.type === 'file' && !copy) blobs.push(node.content ?? []);
    }
  };
  for (await fill(); ahead.length > 0; await fill()) {
    const { name, node, link } = ahead.shift()!;
    const mode = posixFromGoMode(node.mode) & 0o7777;
    if (zip) {
      // restic's zip holds files, directories and symlinks only.
      if (node.type !== 'file' && node.type !== 'dir' && node.type !== 'symlink') continue;
      const body = node.type === 'file' ? content(blobs, node, counted) : node.type === 'symlink' ? single(node.linkTarget) : undefined;
      await zip.add({ name, kind: node.type, mode, mtimeNs: node.mtime.ns }, body);
      entries++;
      continue;
    }
    const type = tarType(node);
    if (!tar || type === undefined) continue;
    const first = link === undefined ? undefined : linked.get(link);
    if (link !== undefined && !first) linked.set(link, name);
    const [devMajor, devMinor] = type === 'chardev' || type === 'blockdev' ? splitDevice(node.device).map(Number) : [0, 0];
    const header = {
      name,
      type: first ? ('hardlink' as const) : type,
      mode,
      uid: node.uid,
      gid: node.gid,
      uname: node.user,
      gname: node.group,
      size: first ? 0n : node.size,
      mtimeNs: node.mtime.ns,
      linkName: first ?? (node.type === 'symlink' ? node.linkTarget : undefined),
      devMajor,
      devMinor,
      xattrs: node.extendedAttributes.map((x) => ({ name: x.name, value: x.value ?? Buffer.alloc(0) })),
    };
    await tar.add(header, node.type === 'file' && !first ? content(blobs, node, counted) : undefined);
    entries++;
  }
  await (tar ?? zip)!.finish();
  return { entries, bytes: counted.bytes };
}

async function* single(data: Buffer): AsyncIterable<Buffer> {
  yield data;
}

/**
 * Writes the file at `path` in a snapshot (an id, a prefix or `latest`, or an entry already
 * loaded) to `out`, or the directory at `path` (`/` for all) as an archive of its contents.
 */
export async function dumpSnapshot(repo: Repository, snapshot: string | SnapshotEntry, path: string, out: Writable, options: DumpOptions = {}): Promise<DumpResult> {
  const entry = typeof snapshot === 'string' ? await findSnapshot(repo, snapshot, options.filter) : snapshot;
  if (repo.index.packCount === 0) await repo.loadIndex();
  const found = await findNode(repo, entry.snapshot.tree, path);
  if (found.tree !== undefined) {
    const format = options.archive ?? 'tar';
    const prefix = Buffer.concat(pathComponents(found.path).flatMap((name, i) => (i === 0 ? [name] : [Buffer.from('/'), name])));
    const r = await dumpArchive(repo, found.tree, prefix, out, format);
    return { snapshotId: entry.id, kind: format, ...r };
  }
  const node = found.node!;
  if (node.type !== 'file') throw new HoldfastError('ERR_INVALID_ARGUMENT', `"${found.path}" should be a file, but is a ${node.type}`);
  const blobs = new BlobSequence(repo);
  blobs.push(node.content ?? []);
  const counted = { bytes: 0 };
  for await (const chunk of content(blobs, node, counted)) await writeAll(out, chunk);
  return { snapshotId: entry.id, kind: 'file', entries: 1, bytes: counted.bytes };
}
