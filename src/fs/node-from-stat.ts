// lstat result -> tree node, with exactly the fields restic 0.14 fills on Linux for each file type,
// so that our tree of a directory has the same bytes (and id) as restic's tree of it.

import type { BigIntStats } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { HoldfastError } from '../errors.js';
import { goModeFromPosix, PosixMode } from '../format/file-mode.js';
import { localGoTime } from '../format/go-json.js';
import type { Node, NodeType } from '../format/node.js';
import { type AccountNames, accountNames } from './account-names.js';
import { readExtendedAttributes } from './extended-attributes.js';
import { ignoreWarnings, type WarningSink } from './warning.js';

export interface NodeFromStatOptions {
  /** Record the real access time (restic's --with-atime); otherwise atime is the mtime, as in restic. */
  withAtime?: boolean;
  warn?: WarningSink;
  /**
   * The entry's node in the previous snapshot. When it is the same inode with the same ctime,
   * its extended attributes and symlink target are taken from it instead of being read again:
   * changing either changes the ctime, so they cannot differ.
   */
  previous?: Node | undefined;
}

const noBytes = Buffer.alloc(0);

const typeOfPosix = new Map<number, NodeType>([
  [PosixMode.regular, 'file'],
  [PosixMode.dir, 'dir'],
  [PosixMode.symlink, 'symlink'],
  [PosixMode.blockDevice, 'dev'],
  [PosixMode.charDevice, 'chardev'],
  [PosixMode.fifo, 'fifo'],
  [PosixMode.socket, 'socket'],
]);

/** The node type of an lstat mode; throws for a type restic cannot store. */
export function nodeTypeOfStat(st: BigIntStats): NodeType {
  const type = typeOfPosix.get(Number(st.mode) & PosixMode.typeMask);
  if (type === undefined) throw new HoldfastError('ERR_UNSUPPORTED', `unknown file type (mode ${st.mode.toString(8)})`);
  return type;
}

/**
 * The node restic 0.14 records for a directory entry, from its lstat (`st`) and `path` (which
 * must name the same entry). Per type, beyond name/type/mode/times/ids/inode/device_id:
 * file: size, links; symlink: links, linktarget; dev and chardev: links, device; dir, fifo and
 * socket: nothing more. Extended attributes are read for every type but symlinks. `content`
 * is [] for files and `subtree` null: the caller fills them in.
 *
 * restic 0.14 does not save sockets at all: the caller skips them rather than asking here.
 * A symlink that cannot be read is an error (restic skips the entry and reports it); xattrs
 * that cannot be read are warnings.
 */
export async function nodeFromStat(name: Buffer, path: Buffer, st: BigIntStats, options: NodeFromStatOptions = {}): Promise<Node> {
  const type = nodeTypeOfStat(st);
  const warn = options.warn ?? ignoreWarnings;
  const names = await accountNames();
  const previous = options.previous;
  if (previous?.type === type && previous.inode === st.ino && previous.deviceId === st.dev && previous.ctime.ns === st.ctimeNs) {
    return makeStatNode(name, type, st, options, previous.linkTarget, previous.extendedAttributes, names);
  }
  let linkTarget = noBytes;
  if (type === 'symlink') {
    try {
      linkTarget = await readlink(path, { encoding: 'buffer' });
    } catch (err) {
      throw new HoldfastError('ERR_IO', `cannot read symlink ${path.toString()}: ${(err as Error).message}`, { cause: err });
    }
  }
  const extendedAttributes = type === 'symlink' ? [] : await readExtendedAttributes(path, type === 'dir', warn);
  return makeStatNode(name, type, st, options, linkTarget, extendedAttributes, names);
}

function makeStatNode(
  name: Buffer,
  type: NodeType,
  st: BigIntStats,
  options: NodeFromStatOptions,
  linkTarget: Buffer,
  extendedAttributes: Node['extendedAttributes'],
  names: AccountNames,
): Node {
  const uid = Number(st.uid);
  const gid = Number(st.gid);
  const mtime = localGoTime(st.mtimeNs);
  const hasLinks = type === 'file' || type === 'symlink' || type === 'dev' || type === 'chardev';
  return {
    name,
    type,
    mode: goModeFromPosix(Number(st.mode)),
    mtime,
    atime: options.withAtime ? localGoTime(st.atimeNs) : mtime,
    ctime: localGoTime(st.ctimeNs),
    uid,
    gid,
    user: names.user(uid),
    group: names.group(gid),
    inode: st.ino,
    deviceId: st.dev,
    size: type === 'file' ? st.size : 0n,
    links: hasLinks ? st.nlink : 0n,
    linkTarget,
    extendedAttributes,
    device: type === 'dev' || type === 'chardev' ? st.rdev : 0n,
    content: type === 'file' ? [] : null,
    subtree: null,
    error: '',
  };
}
