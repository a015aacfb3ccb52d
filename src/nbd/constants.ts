// Numbers of the NBD protocol (magic values, options, replies, commands, flags, errors) as the
// NetworkBlockDevice proto.md defines them; shared by the codecs, the client and the future server.

/** "NBDMAGIC": first 8 bytes of every server greeting, oldstyle and newstyle. */
export const NBD_INIT_MAGIC = 0x4e42444d41474943n;
/** "IHAVEOPT": second magic of a newstyle greeting, and the prefix of every option request. */
export const NBD_OPTS_MAGIC = 0x49484156454f5054n;
/** Second magic of an oldstyle greeting (cliserv_magic). */
export const NBD_CLISERV_MAGIC = 0x00420281861253n;
export const NBD_OPTION_REPLY_MAGIC = 0x0003e889045565a9n;
export const NBD_REQUEST_MAGIC = 0x25609513;
export const NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
export const NBD_STRUCTURED_REPLY_MAGIC = 0x668e33ef;

/** The IANA port of NBD. */
export const NBD_DEFAULT_PORT = 10809;

/** Handshake flags, sent by the server after the greeting magics. */
export const HandshakeFlag = {
  fixedNewstyle: 1 << 0,
  noZeroes: 1 << 1,
} as const;

/** Client flags, the client's answer to the handshake flags. */
export const ClientFlag = {
  fixedNewstyle: 1 << 0,
  noZeroes: 1 << 1,
} as const;

export const Option = {
  exportName: 1,
  abort: 2,
  list: 3,
  starttls: 5,
  info: 6,
  go: 7,
  structuredReply: 8,
  listMetaContext: 9,
  setMetaContext: 10,
} as const;

/** Option reply types; errors have bit 31 set. */
export const OptionReply = {
  ack: 1,
  server: 2,
  info: 3,
  metaContext: 4,
  errUnsup: 0x80000001,
  errPolicy: 0x80000002,
  errInvalid: 0x80000003,
  errPlatform: 0x80000004,
  errTlsReqd: 0x80000005,
  errUnknown: 0x80000006,
  errShutdown: 0x80000007,
  errBlockSizeReqd: 0x80000008,
  errTooBig: 0x80000009,
} as const;

export function isOptionReplyError(type: number): boolean {
  return type >= 0x80000000;
}

/** Information types carried by NBD_REP_INFO during NBD_OPT_INFO / NBD_OPT_GO. */
export const Info = {
  export: 0,
  name: 1,
  description: 2,
  blockSize: 3,
} as const;

/** Transmission flags of an export. */
export const TransmissionFlag = {
  hasFlags: 1 << 0,
  readOnly: 1 << 1,
  sendFlush: 1 << 2,
  sendFua: 1 << 3,
  rotational: 1 << 4,
  sendTrim: 1 << 5,
  sendWriteZeroes: 1 << 6,
  sendDf: 1 << 7,
  canMultiConn: 1 << 8,
  sendResize: 1 << 9,
  sendCache: 1 << 10,
  sendFastZero: 1 << 11,
} as const;

export const Command = {
  read: 0,
  write: 1,
  disc: 2,
  flush: 3,
  trim: 4,
  cache: 5,
  writeZeroes: 6,
  blockStatus: 7,
} as const;

export const CommandFlag = {
  fua: 1 << 0,
  noHole: 1 << 1,
  df: 1 << 2,
  reqOne: 1 << 3,
  fastZero: 1 << 4,
} as const;

export const ReplyFlag = {
  done: 1 << 0,
} as const;

/** Structured reply chunk types; error types have bit 15 set. */
export const ReplyType = {
  none: 0,
  offsetData: 1,
  offsetHole: 2,
  blockStatus: 5,
  error: 0x8001,
  errorOffset: 0x8002,
} as const;

export function isErrorReplyType(type: number): boolean {
  return (type & 0x8000) !== 0;
}

/** Extent flags of the base:allocation metadata context. */
export const AllocationFlag = {
  hole: 1 << 0,
  zero: 1 << 1,
} as const;

/** Extent flag of a qemu:dirty-bitmap:NAME metadata context. */
export const DIRTY_FLAG = 1 << 0;

export const BASE_ALLOCATION = 'base:allocation';
export const DIRTY_BITMAP_PREFIX = 'qemu:dirty-bitmap:';

/** The context qemu-nbd -B NAME exports a persistent dirty bitmap under. */
export function dirtyBitmapContext(bitmap: string): string {
  return DIRTY_BITMAP_PREFIX + bitmap;
}

/** The error values NBD allows on the wire; the numbers are Linux errno values. */
export const Errno = {
  EPERM: 1,
  EIO: 5,
  ENOMEM: 12,
  EINVAL: 22,
  ENOSPC: 28,
  EOVERFLOW: 75,
  ENOTSUP: 95,
  ESHUTDOWN: 108,
} as const;

const errnoText: Record<number, string> = {
  [Errno.EPERM]: 'EPERM (operation not permitted)',
  [Errno.EIO]: 'EIO (input/output error)',
  [Errno.ENOMEM]: 'ENOMEM (cannot allocate memory)',
  [Errno.EINVAL]: 'EINVAL (invalid argument)',
  [Errno.ENOSPC]: 'ENOSPC (no space left on device)',
  [Errno.EOVERFLOW]: 'EOVERFLOW (value too large)',
  [Errno.ENOTSUP]: 'ENOTSUP (operation not supported)',
  [Errno.ESHUTDOWN]: 'ESHUTDOWN (server is shutting down)',
};

/** "EIO (input/output error)", or the bare number for a value outside the protocol's list. */
export function describeErrno(errno: number): string {
  return errnoText[errno] ?? `error ${errno}`;
}

/** "setMetaContext" → "SET_META_CONTEXT": the spelling of the spec, for messages. */
function constantName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

const optionNames = new Map<number, string>(Object.entries(Option).map(([k, v]) => [v, `NBD_OPT_${constantName(k)}`]));

/** "NBD_OPT_SET_META_CONTEXT" for messages about the handshake. */
export function optionName(option: number): string {
  return optionNames.get(option) ?? `option ${option}`;
}

const optionReplyNames = new Map<number, string>(
  Object.entries(OptionReply).map(([k, v]) => [v, `NBD_REP_${constantName(k)}`]),
);

/** "NBD_REP_ERR_UNKNOWN" for messages about refused options. */
export function optionReplyName(type: number): string {
  return optionReplyNames.get(type) ?? `reply type 0x${type.toString(16)}`;
}
