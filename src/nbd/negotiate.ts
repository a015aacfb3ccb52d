// The client side of the NBD fixed-newstyle handshake: structured replies, metadata contexts and
// NBD_OPT_GO with block-size information, turning every refusal into an error that names the export.

import type { Socket } from 'node:net';
import { HoldfastError } from '../errors.js';
import {
  ClientFlag,
  DIRTY_BITMAP_PREFIX,
  HandshakeFlag,
  Info,
  isOptionReplyError,
  Option,
  OptionReply,
  optionName,
  optionReplyName,
} from './constants.js';
import {
  decodeGreetingMagics,
  decodeInfoReply,
  decodeMetaContextReply,
  decodeOptionReplyHeader,
  encodeClientFlags,
  encodeInfoRequest,
  encodeMetaContextQuery,
  encodeOption,
  GREETING_MAGICS_LENGTH,
  OPTION_REPLY_HEADER_LENGTH,
} from './handshake-codec.js';
import { PeerClosedError, type SocketReader } from './socket-reader.js';
import { decodeString, MalformedMessage, malformed, MAX_STRING_BYTES, oneLine } from './wire.js';

export interface BlockSizeConstraints {
  /** Requests must start and end on multiples of this (1 when the server sets no constraint). */
  minimum: number;
  preferred: number;
  /** Largest READ the server accepts. */
  maximum: number;
  /** False when the server sent no NBD_INFO_BLOCK_SIZE and these are the protocol's defaults. */
  advertised: boolean;
}

export interface NegotiatedExport {
  size: number;
  transmissionFlags: number;
  blockSize: BlockSizeConstraints;
  structuredReplies: boolean;
  /** Selected metadata context names and the ids the server gave them. */
  metaContexts: Map<string, number>;
}

export interface NegotiateRequest {
  exportName: string;
  metaContexts: readonly string[];
}

/** Defaults the spec recommends when a server advertises nothing; 32 MiB is the interoperable READ limit. */
const DEFAULT_BLOCK_SIZE: BlockSizeConstraints = { minimum: 1, preferred: 4096, maximum: 32 * 1024 * 1024, advertised: false };
/** Option replies are small (names and messages are limited to 4 KiB); more means a broken peer. */
const MAX_OPTION_REPLY = 64 * 1024;

interface OptionReplyMessage {
  type: number;
  payload: Buffer;
}

/**
 * Runs the handshake on a freshly connected socket. On failure the caller must end the
 * connection (see abortHandshake); on success the socket is in the transmission phase.
 */
export async function negotiate(
  socket: Socket,
  reader: SocketReader,
  request: NegotiateRequest,
  location: string,
): Promise<NegotiatedExport> {
  let step = 'waiting for the greeting';

  const send = (option: number, data?: Buffer) => {
    step = `waiting for the reply to ${optionName(option)}`;
    socket.write(encodeOption(option, data));
  };

  const receive = async (option: number): Promise<OptionReplyMessage> => {
    const header = decodeOptionReplyHeader(await reader.read(OPTION_REPLY_HEADER_LENGTH));
    if (header.option !== option) {
      throw malformed(`reply is for ${optionName(header.option)} while ${optionName(option)} was asked`);
    }
    if (header.length > MAX_OPTION_REPLY) throw malformed(`reply to ${optionName(option)} claims ${header.length} bytes`);
    return { type: header.type, payload: await reader.read(header.length) };
  };

  const refusal = (option: number, reply: OptionReplyMessage): HoldfastError => {
    const said = serverMessage(reply.payload);
    if (reply.type === OptionReply.errTlsReqd) {
      return new HoldfastError('ERR_UNSUPPORTED', `NBD server at ${location} requires TLS, which holdfast does not support${said}`);
    }
    if (reply.type === OptionReply.errUnknown) {
      return new HoldfastError('ERR_NOT_FOUND', `NBD server at ${location} has no export named '${request.exportName}'${said}`);
    }
    return new HoldfastError(
      'ERR_UNSUPPORTED',
      `NBD server at ${location} refused ${optionName(option)} (${optionReplyName(reply.type)})${said}`,
    );
  };

  const negotiateStructuredReplies = async (): Promise<boolean> => {
    send(Option.structuredReply);
    const reply = await receive(Option.structuredReply);
    if (reply.type === OptionReply.ack) return true;
    if (reply.type === OptionReply.errTlsReqd) throw refusal(Option.structuredReply, reply);
    // Any other answer means simple replies only; reads still work, block status does not.
    if (isOptionReplyError(reply.type)) return false;
    throw malformed(`unexpected ${optionReplyName(reply.type)} to NBD_OPT_STRUCTURED_REPLY`);
  };

  /** Runs LIST or SET_META_CONTEXT and collects the contexts the server names. */
  const metaContextOption = async (option: number, queries: readonly string[]): Promise<Map<string, number>> => {
    send(option, encodeMetaContextQuery({ exportName: request.exportName, queries: [...queries] }));
    const contexts = new Map<string, number>();
    for (;;) {
      const reply = await receive(option);
      if (reply.type === OptionReply.ack) return contexts;
      if (reply.type === OptionReply.metaContext) {
        const context = decodeMetaContextReply(reply.payload);
        contexts.set(context.name, context.id);
      } else if (isOptionReplyError(reply.type)) {
        throw refusal(option, reply);
      } else {
        throw malformed(`unexpected ${optionReplyName(reply.type)} to ${optionName(option)}`);
      }
    }
  };

  const selectMetaContexts = async (structured: boolean): Promise<Map<string, number>> => {
    const wanted = [...new Set(request.metaContexts)];
    if (wanted.length === 0) return new Map();
    if (!structured) {
      throw new HoldfastError(
        'ERR_UNSUPPORTED',
        `NBD server at ${location} does not support structured replies, which block status (${wanted.join(', ')}) needs`,
      );
    }
    const selected = await metaContextOption(Option.setMetaContext, wanted);
    const missing = wanted.filter((name) => !selected.has(name));
    if (missing.length > 0) throw missingContext(missing[0]!, await offeredContexts(), location);
    return selected;
  };

  /** Every context of the export, to tell the user what they could ask for; undefined if the server will not list. */
  const offeredContexts = async (): Promise<string[] | undefined> => {
    try {
      return [...(await metaContextOption(Option.listMetaContext, [])).keys()];
    } catch (err) {
      if (err instanceof HoldfastError && err.code === 'ERR_UNSUPPORTED') return undefined;
      throw err;
    }
  };

  const go = async (): Promise<Omit<NegotiatedExport, 'structuredReplies' | 'metaContexts'>> => {
    // Asking for NBD_INFO_BLOCK_SIZE promises the server that requests will honour its constraints.
    send(Option.go, encodeInfoRequest({ exportName: request.exportName, infos: [Info.blockSize] }));
    let exportInfo: { size: number; transmissionFlags: number } | undefined;
    let blockSize = DEFAULT_BLOCK_SIZE;
    for (;;) {
      const reply = await receive(Option.go);
      if (reply.type === OptionReply.info) {
        const info = decodeInfoReply(reply.payload);
        if (info.type === Info.export) exportInfo = info;
        else if (info.type === Info.blockSize) blockSize = checkBlockSize(info);
      } else if (reply.type === OptionReply.ack) {
        if (exportInfo === undefined) throw malformed('NBD_OPT_GO succeeded without NBD_INFO_EXPORT');
        return { size: exportInfo.size, transmissionFlags: exportInfo.transmissionFlags, blockSize };
      } else if (isOptionReplyError(reply.type)) {
        throw refusal(Option.go, reply);
      } else {
        throw malformed(`unexpected ${optionReplyName(reply.type)} to NBD_OPT_GO`);
      }
    }
  };

  try {
    const style = decodeGreetingMagics(await reader.read(GREETING_MAGICS_LENGTH));
    if (style === 'oldstyle') {
      throw new HoldfastError(
        'ERR_UNSUPPORTED',
        `NBD server at ${location} speaks the oldstyle handshake, which has no export names or structured replies; ` +
          'run it in newstyle mode (nbdkit without -o/--oldstyle)',
      );
    }
    const handshakeFlags = (await reader.read(2)).readUInt16BE(0);
    if ((handshakeFlags & HandshakeFlag.fixedNewstyle) === 0) {
      throw new HoldfastError(
        'ERR_UNSUPPORTED',
        `NBD server at ${location} does not offer the fixed newstyle handshake, which holdfast needs to negotiate options`,
      );
    }
    const noZeroes = handshakeFlags & HandshakeFlag.noZeroes ? ClientFlag.noZeroes : 0;
    socket.write(encodeClientFlags(ClientFlag.fixedNewstyle | noZeroes));
    const structuredReplies = await negotiateStructuredReplies();
    const metaContexts = await selectMetaContexts(structuredReplies);
    return { ...(await go()), structuredReplies, metaContexts };
  } catch (err) {
    if (err instanceof PeerClosedError) {
      throw new HoldfastError('ERR_NETWORK', `NBD server at ${location} closed the connection during the handshake (${step})`, {
        cause: err,
      });
    }
    if (err instanceof MalformedMessage) {
      throw new HoldfastError('ERR_CORRUPT', `NBD server at ${location} sent a malformed handshake message: ${err.message}`);
    }
    throw err;
  }
}

/** Ends a failed handshake the polite way: NBD_OPT_ABORT, then close. */
export function abortHandshake(socket: Socket): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(encodeOption(Option.abort), () => socket.destroy());
}

function missingContext(name: string, offered: string[] | undefined, location: string): HoldfastError {
  const offers = offered === undefined ? '' : ` (it offers: ${offered.length === 0 ? 'none' : offered.join(', ')})`;
  if (name.startsWith(DIRTY_BITMAP_PREFIX)) {
    const bitmap = name.slice(DIRTY_BITMAP_PREFIX.length);
    return new HoldfastError(
      'ERR_NOT_FOUND',
      `bitmap ${bitmap} is not exported by the NBD server at ${location}${offers}; start qemu-nbd with -B ${bitmap}`,
    );
  }
  return new HoldfastError('ERR_NOT_FOUND', `NBD server at ${location} does not offer metadata context ${name}${offers}`);
}

function checkBlockSize(info: { minimum: number; preferred: number; maximum: number }): BlockSizeConstraints {
  const powerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;
  if (!powerOfTwo(info.minimum) || info.minimum > 65536 || !powerOfTwo(info.preferred) || info.maximum < info.minimum) {
    throw malformed(`NBD_INFO_BLOCK_SIZE ${info.minimum}/${info.preferred}/${info.maximum} is not valid`);
  }
  return { minimum: info.minimum, preferred: info.preferred, maximum: info.maximum, advertised: true };
}

/** ": <text>" when an error reply carries a message for humans. */
function serverMessage(payload: Buffer): string {
  if (payload.length === 0) return '';
  const text = oneLine(decodeString(payload, 0, Math.min(payload.length, MAX_STRING_BYTES), 'error message'));
  return text === '' ? '' : `: ${text}`;
}
