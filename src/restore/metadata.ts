// A node's metadata put back on a restored file, in restic's order: owner (failures only reported
// for root), mode, times, then extended attributes (which change no time).

import { fchmod, fchown, futimes, chmod, lchown, lutimes } from 'node:fs';
import { promisify } from 'node:util';
import { isSystemError } from '../errors.js';
import { type NodeType, posixFromGoMode } from '../format/file-mode.js';
import type { ExtendedAttribute, Node } from '../format/node.js';
import { approximateSeconds, exactSeconds } from './node-times.js';
import type { PosixHelper } from './posix-helper.js';
import { setExtendedAttributes } from './xattrs.js';

const fchmodAsync = promisify(fchmod);
const fchownAsync = promisify(fchown);
const futimesAsync = promisify(futimes);
const chmodAsync = promisify(chmod);
const lchownAsync = promisify(lchown);
const lutimesAsync = promisify(lutimes);

export interface MetadataContext {
  readonly helper: PosixHelper;
  /** Only root's failures to change owners are errors; other users keep their own, as cp -a does. */
  readonly isRoot: boolean;
  /** Called when a time could be set only to the microsecond (no python3 for utimensat). */
  readonly onApproximateTime: () => void;
}

/** What putting a node's metadata back takes: a tree node has it, and so has a planned file. */
export interface NodeMetadata {
  readonly type: NodeType;
  /** Go os.FileMode bits. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Nanoseconds since the Unix epoch. */
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly extendedAttributes: readonly ExtendedAttribute[];
}

/** A node's metadata apart from the node, which holds much more. */
export function nodeMetadata(node: Node): NodeMetadata {
  const { type, mode, uid, gid } = node;
  return { type, mode, uid, gid, atimeNs: node.atime.ns, mtimeNs: node.mtime.ns, extendedAttributes: ownAttributes(node.extendedAttributes) };
}

const NO_ATTRIBUTES: readonly ExtendedAttribute[] = Object.freeze([]);

/**
 * Extended attributes that keep nothing else alive. A decoded name is a slice of its tree's whole
 * text (V8 shares the characters of a substring of 13 or more), and kept with every planned file
 * ("security.selinux" on every file of an SELinux system) it would keep every tree's text.
 */
export function ownAttributes(attributes: readonly ExtendedAttribute[]): readonly ExtendedAttribute[] {
  if (attributes.length === 0) return NO_ATTRIBUTES;
  return attributes.map(({ name, value }) => ({ name: Buffer.from(name).toString(), value }));
}

/** The owner a file is known to have already (one we just created), to skip a useless chown. */
export interface KnownOwner {
  readonly uid: number;
  readonly gid: number;
}

/** Permission, setuid, setgid and sticky bits of a node, as chmod takes them. */
export function permissionBits(node: NodeMetadata): number {
  return posixFromGoMode(node.mode) & 0o7777;
}

/** Runs each step even when an earlier one failed, and throws the first failure, as restic does. */
class Steps {
  private first: unknown;

  async run(step: () => Promise<unknown>): Promise<void> {
    try {
      await step();
    } catch (err) {
      this.first ??= err;
    }
  }

  finish(): void {
    if (this.first !== undefined) throw this.first;
  }
}

function ignoreForUsers(ctx: MetadataContext, err: unknown): void {
  if (!ctx.isRoot && isSystemError(err, 'EPERM', 'EINVAL')) return;
  throw err;
}

/** The chown, chmod and futimes a new or rewritten regular file needs, computed once. */
export interface FileMetadataSteps {
  /** uid, gid, and whether failing is normal (a user cannot give files away). */
  readonly chown: readonly [uid: number, gid: number, bestEffort: boolean] | undefined;
  readonly chmod: number | undefined;
  /** Seconds for futimes; undefined when only a nanosecond utimensat by path gets them right. */
  readonly times: readonly [atime: number, mtime: number] | undefined;
}

/** `owner`: who the file belongs to already (if known); `modeSet`: it was created with its final mode. */
export function fileMetadataSteps(node: NodeMetadata, ctx: MetadataContext, owner: KnownOwner | undefined, modeSet: boolean): FileMetadataSteps {
  const chownNeeded = owner === undefined || owner.uid !== node.uid || owner.gid !== node.gid;
  const mtime = exactSeconds(node.mtimeNs);
  // Access times are kept to the microsecond unless the modification time needs utimensat anyway.
  const atime = exactSeconds(node.atimeNs) ?? approximateSeconds(node.atimeNs);
  return {
    chown: chownNeeded ? [node.uid, node.gid, !ctx.isRoot] : undefined,
    chmod: modeSet ? undefined : permissionBits(node),
    times: mtime === undefined ? undefined : [atime, mtime],
  };
}

/**
 * Owner, mode and times of a regular file through its open descriptor (no path lookups).
 * Resolves false when the times still have to be set by path after closing (nanosecond times
 * Node cannot express); extended attributes are left to the caller, as they come last.
 */
export async function restoreFileMetadata(fd: number, node: NodeMetadata, ctx: MetadataContext, owner: KnownOwner | undefined, modeSet: boolean): Promise<boolean> {
  const { chown, chmod, times } = fileMetadataSteps(node, ctx, owner, modeSet);
  const steps = new Steps();
  if (chown) await steps.run(() => fchownAsync(fd, chown[0], chown[1]).catch((err: unknown) => ignoreForUsers(ctx, err)));
  if (chmod !== undefined) await steps.run(() => fchmodAsync(fd, chmod));
  if (times) await steps.run(() => futimesAsync(fd, times[0], times[1]));
  steps.finish();
  return times !== undefined;
}

/** Times by path without following a symlink: exact through the helper, else as close as Node gets. */
export async function restoreTimes(path: Buffer, node: NodeMetadata, ctx: MetadataContext): Promise<void> {
  const atime = exactSeconds(node.atimeNs);
  const mtime = exactSeconds(node.mtimeNs);
  if (atime !== undefined && mtime !== undefined) return lutimesAsync(path, atime, mtime);
  if (await ctx.helper.setTimes(path, node.atimeNs, node.mtimeNs)) return;
  ctx.onApproximateTime();
  await lutimesAsync(path, atime ?? approximateSeconds(node.atimeNs), mtime ?? approximateSeconds(node.mtimeNs));
}

/** Metadata of a directory, symlink, fifo or device, by path (symlinks keep their own mode). */
export async function restorePathMetadata(path: Buffer, node: NodeMetadata, ctx: MetadataContext, owner: KnownOwner | undefined): Promise<void> {
  const steps = new Steps();
  if (owner === undefined || owner.uid !== node.uid || owner.gid !== node.gid) {
    await steps.run(() => lchownAsync(path, node.uid, node.gid).catch((err: unknown) => ignoreForUsers(ctx, err)));
  }
  if (node.type !== 'symlink') await steps.run(() => chmodAsync(path, permissionBits(node)));
  await steps.run(() => restoreTimes(path, node, ctx));
  if (node.type !== 'symlink') await steps.run(() => setExtendedAttributes(path, node.extendedAttributes, ctx.helper));
  steps.finish();
}
