// Nodes without content: symlinks (Node can make them), fifos and device nodes (the helper makes
// them, devices only as root), each created with mode 0600 as restic does and given its metadata.

import { link, symlink } from 'node:fs/promises';
import { HoldfastError } from '../errors.js';
import { PosixMode } from '../format/file-mode.js';
import type { Node } from '../format/node.js';
import { type KnownOwner, type MetadataContext, type NodeMetadata, nodeMetadata, restorePathMetadata } from './metadata.js';

async function create(path: Buffer, node: Node, ctx: MetadataContext): Promise<void> {
  switch (node.type) {
    case 'symlink':
      return symlink(node.linkTarget, path);
    case 'fifo':
      return ctx.helper.mkfifo(path, 0o600);
    case 'dev':
    case 'chardev':
      if (!ctx.isRoot) throw new HoldfastError('ERR_PERMISSION', 'device nodes can only be created by root');
      return ctx.helper.mknod(path, (node.type === 'dev' ? PosixMode.blockDevice : PosixMode.charDevice) | 0o600, node.device);
    default:
      throw new HoldfastError('ERR_UNSUPPORTED', `cannot create a node of type ${node.type}`);
  }
}

/** Creates a symlink, fifo or device node at `path` (which must not exist) with its metadata. */
export async function createSpecial(path: Buffer, node: Node, ctx: MetadataContext, owner: KnownOwner | undefined): Promise<void> {
  await create(path, node, ctx);
  await restorePathMetadata(path, nodeMetadata(node), ctx, owner);
}

/** A hard link to the restored file `existing`; the inode's metadata is set again from this node, as restic does. */
export async function createHardLink(existing: Buffer, path: Buffer, node: NodeMetadata, ctx: MetadataContext): Promise<void> {
  await link(existing, path);
  await restorePathMetadata(path, node, ctx, undefined);
}
