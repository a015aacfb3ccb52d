// Nodes as restic 0.14 prints them in JSON: ls's node lines and find's matches, each with its own
// choice of fields, written with Go's escaping so the bytes equal restic's.

import { clampGoTimeYear, formatGoTime, type GoTime, goJsonBytes, goJsonString } from '../format/go-json.js';
import type { Node } from '../format/node.js';
import { goFileModeString } from './restic-text.js';

function time(t: GoTime): string {
  return '"' + formatGoTime(clampGoTimeYear(t)) + '"';
}

/** A line of `ls --json`: size only for files (even when 0), mode only when not 0. */
export function lsNodeJson(path: string, node: Node): string {
  let s = `{"name":${goJsonBytes(node.name)},"type":"${node.type}","path":${goJsonString(path)},"uid":${node.uid},"gid":${node.gid}`;
  if (node.type === 'file') s += `,"size":${node.size}`;
  if (node.mode !== 0) s += `,"mode":${node.mode}`;
  s += `,"permissions":"${goFileModeString(node.mode)}","mtime":${time(node.mtime)},"atime":${time(node.atime)},"ctime":${time(node.ctime)}`;
  return s + ',"struct_type":"node"}';
}

/** A match of `find --json`: the node's own fields without name, inode, xattrs, device, content and subtree. */
export function findNodeJson(path: string, node: Node): string {
  let s = `{"path":${goJsonString(path)},"permissions":"${goFileModeString(node.mode)}","type":"${node.type}"`;
  if (node.mode !== 0) s += `,"mode":${node.mode}`;
  s += `,"mtime":${time(node.mtime)},"atime":${time(node.atime)},"ctime":${time(node.ctime)},"uid":${node.uid},"gid":${node.gid}`;
  if (node.user !== '') s += `,"user":${goJsonString(node.user)}`;
  if (node.group !== '') s += `,"group":${goJsonString(node.group)}`;
  if (node.deviceId !== 0n) s += `,"device_id":${node.deviceId}`;
  if (node.size !== 0n) s += `,"size":${node.size}`;
  if (node.links !== 0n) s += `,"links":${node.links}`;
  if (node.linkTarget.length > 0) s += `,"linktarget":${goJsonBytes(node.linkTarget)}`;
  if (node.error !== '') s += `,"error":${goJsonString(node.error)}`;
  return s + '}';
}
