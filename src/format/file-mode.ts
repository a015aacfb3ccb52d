// Go os.FileMode bits, which restic stores in a node's `mode`, and their mapping to POSIX st_mode:
// a POSIX value in `mode` would make restic restore directories as files.

/** The kinds of node restic knows; `irregular` is written by newer restic (Windows reparse points). */
export type NodeType = 'file' | 'dir' | 'symlink' | 'dev' | 'chardev' | 'fifo' | 'socket' | 'irregular';

/** Go's os.FileMode bits (io/fs). Values are unsigned 32-bit; combine them with `| ... >>> 0`. */
export const GoMode = {
  dir: 0x8000_0000,
  append: 0x4000_0000,
  exclusive: 0x2000_0000,
  temporary: 0x1000_0000,
  symlink: 0x0800_0000,
  device: 0x0400_0000,
  namedPipe: 0x0200_0000,
  socket: 0x0100_0000,
  setuid: 0x0080_0000,
  setgid: 0x0040_0000,
  /** Set together with `device`. */
  charDevice: 0x0020_0000,
  sticky: 0x0010_0000,
  irregular: 0x0008_0000,
  perm: 0o777,
} as const;

/** Go's ModeType: the bits that tell the kind of file. */
export const GO_MODE_TYPE =
  (GoMode.dir | GoMode.symlink | GoMode.namedPipe | GoMode.socket | GoMode.device | GoMode.charDevice | GoMode.irregular) >>> 0;

/** The bits restic keeps from a file's mode (NodeFromFileInfo). */
export const RESTIC_MODE_MASK = (GoMode.perm | GO_MODE_TYPE | GoMode.setuid | GoMode.setgid | GoMode.sticky) >>> 0;

/** POSIX st_mode bits (Linux values, which are also those of the BSDs and macOS). */
export const PosixMode = {
  typeMask: 0o170000,
  socket: 0o140000,
  symlink: 0o120000,
  regular: 0o100000,
  blockDevice: 0o060000,
  dir: 0o040000,
  charDevice: 0o020000,
  fifo: 0o010000,
  setuid: 0o4000,
  setgid: 0o2000,
  sticky: 0o1000,
} as const;

const goTypeOfPosixType = new Map<number, number>([
  [PosixMode.socket, GoMode.socket],
  [PosixMode.symlink, GoMode.symlink],
  [PosixMode.regular, 0],
  [PosixMode.blockDevice, GoMode.device],
  [PosixMode.dir, GoMode.dir],
  [PosixMode.charDevice, GoMode.device | GoMode.charDevice],
  [PosixMode.fifo, GoMode.namedPipe],
]);

const posixTypeOfNodeType: Record<NodeType, number> = {
  file: PosixMode.regular,
  dir: PosixMode.dir,
  symlink: PosixMode.symlink,
  dev: PosixMode.blockDevice,
  chardev: PosixMode.charDevice,
  fifo: PosixMode.fifo,
  socket: PosixMode.socket,
  irregular: 0,
};

const goTypeOfNodeType: Record<NodeType, number> = {
  file: 0,
  dir: GoMode.dir,
  symlink: GoMode.symlink,
  dev: GoMode.device,
  chardev: (GoMode.device | GoMode.charDevice) >>> 0,
  fifo: GoMode.namedPipe,
  socket: GoMode.socket,
  irregular: GoMode.irregular,
};

/**
 * The Go FileMode restic records for a file with this st_mode: what Go's os.Lstat reports on
 * Linux, masked as restic masks it. An unknown file type gets no type bits, as in Go.
 */
export function goModeFromPosix(stMode: number): number {
  let mode = (stMode & 0o777) | (goTypeOfPosixType.get(stMode & PosixMode.typeMask) ?? 0);
  if (stMode & PosixMode.setuid) mode |= GoMode.setuid;
  if (stMode & PosixMode.setgid) mode |= GoMode.setgid;
  if (stMode & PosixMode.sticky) mode |= GoMode.sticky;
  return (mode & RESTIC_MODE_MASK) >>> 0;
}

/**
 * The st_mode for a Go FileMode: file type, setuid/setgid/sticky and permissions. `irregular`
 * and unknown combinations have no POSIX type and give type bits 0.
 */
export function posixFromGoMode(goMode: number): number {
  let mode = goMode & 0o777;
  const type = nodeTypeOfGoMode(goMode);
  if (type !== undefined) mode |= posixTypeOfNodeType[type];
  if (goMode & GoMode.setuid) mode |= PosixMode.setuid;
  if (goMode & GoMode.setgid) mode |= PosixMode.setgid;
  if (goMode & GoMode.sticky) mode |= PosixMode.sticky;
  return mode;
}

/** The Go type bits of a node type (0 for a regular file). */
export function goModeTypeBits(type: NodeType): number {
  return goTypeOfNodeType[type];
}

/** The node type restic derives from a Go FileMode (nodeTypeFromFileInfo), or undefined. */
export function nodeTypeOfGoMode(goMode: number): NodeType | undefined {
  const bits = (goMode & GO_MODE_TYPE) >>> 0;
  for (const type in goTypeOfNodeType) {
    if (goTypeOfNodeType[type as NodeType] === bits) return type as NodeType;
  }
  return undefined;
}
