// An NBD client connection: handshake, then pipelined READ and BLOCK_STATUS requests with a bounded
// number in flight, replies matched by cookie, and every pending request failed if the link breaks.

import { connect as netConnect, type Socket } from 'node:net';
import { HoldfastError, invalidArgument } from '../errors.js';
import {
  Command,
  describeErrno,
  Errno,
  isErrorReplyType,
  NBD_DEFAULT_PORT,
  ReplyFlag,
  ReplyType,
  TransmissionFlag,
} from './constants.js';
import { abortHandshake, negotiate, type BlockSizeConstraints, type NegotiatedExport } from './negotiate.js';
import { PeerClosedError, SocketReader } from './socket-reader.js';
import {
  CHUNK_HEADER_LENGTH,
  decodeBlockStatus,
  decodeErrorChunk,
  decodeOffsetDataPrefix,
  decodeOffsetHole,
  decodeReplyHeader,
  encodeRequest,
  OFFSET_DATA_PREFIX_LENGTH,
  OFFSET_HOLE_LENGTH,
  replyHeaderLength,
  SIMPLE_REPLY_LENGTH,
  type BlockDescriptor,
  type ChunkHeader,
  type Range,
  type RequestHeader,
  type SimpleReply,
} from './transmission-codec.js';
import { formatNbdUri, parseNbdUri, type NbdEndpoint } from './uri.js';
import { malformed, MalformedMessage, MAX_STRING_BYTES, oneLine } from './wire.js';

export type { BlockSizeConstraints } from './negotiate.js';

/** An NBD URI, or where the server listens (TCP port defaults to 10809). */
export type NbdTarget = string | { host: string; port?: number } | { socket: string };

export interface NbdConnectOptions {
  /** Export to open; defaults to the URI's path, else the server's default export (''). */
  exportName?: string;
  /** Metadata contexts to select, e.g. 'base:allocation' or 'qemu:dirty-bitmap:NAME'. */
  metaContexts?: readonly string[];
  /** Requests sent before waiting for replies (default 8). */
  maxInFlight?: number;
}

export interface NbdExportFlags {
  readOnly: boolean;
  canFlush: boolean;
  canFua: boolean;
  rotational: boolean;
  canTrim: boolean;
  canWriteZeroes: boolean;
  canDf: boolean;
  canMultiConn: boolean;
  canCache: boolean;
  canFastZero: boolean;
}

export interface NbdExtent {
  offset: number;
  length: number;
  /** Per context: base:allocation has HOLE=1 and ZERO=2; a qemu dirty bitmap has 1 = dirty. */
  flags: number;
}

/** The largest READ sent even to servers that allow more: bounds the memory one request pins. */
const MAX_READ_REQUEST = 32 * 1024 * 1024;
/** Block status lengths are 32-bit; a round power of two keeps aligned requests inside that. */
const MAX_STATUS_REQUEST = 2 ** 31;
/** Chunk payloads other than read data are small; more means a broken peer. */
const MAX_CHUNK_PAYLOAD = 16 * 1024 * 1024;

interface Pending {
  header: RequestHeader;
  /** "read of 4096 bytes at offset 0", for messages. */
  what: string;
  /** READ: where the data lands (covers header.offset .. + header.length). */
  target?: Buffer;
  /** READ: the parts of target the server has filled so far, checked to tile it exactly. */
  covered: Range[];
  /** BLOCK_STATUS: the context asked for and, once received, its descriptors. */
  context?: { name: string; id: number };
  descriptors?: BlockDescriptor[];
  /** First error chunk; the request fails with it once its reply is done. */
  error?: HoldfastError;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class NbdClient {
  /** Where the export lives, as an NBD URI; every error message names it. */
  readonly location: string;
  readonly exportName: string;
  /** Export size in bytes. */
  readonly size: number;
  readonly transmissionFlags: number;
  readonly flags: NbdExportFlags;
  readonly blockSize: BlockSizeConstraints;
  readonly structuredReplies: boolean;
  /** Metadata contexts the server agreed to, in the order it listed them. */
  readonly metaContexts: readonly string[];

  readonly #socket: Socket;
  readonly #reader: SocketReader;
  readonly #contextIds: Map<string, number>;
  readonly #maxInFlight: number;
  readonly #maxRead: number;
  readonly #pending = new Map<bigint, Pending>();
  readonly #slotWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  /** Calls accepted but not finished, so close() can let them complete before NBD_CMD_DISC. */
  readonly #operations = new Set<Promise<unknown>>();
  readonly #socketClosed: Promise<void>;
  #activeSlots = 0;
  #nextCookie = 1n;
  #broken: HoldfastError | undefined;
  #closing: Promise<void> | undefined;

  private constructor(
    socket: Socket,
    reader: SocketReader,
    location: string,
    exportName: string,
    negotiated: NegotiatedExport,
    maxInFlight: number,
  ) {
    this.#socket = socket;
    this.#reader = reader;
    this.#socketClosed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.location = location;
    this.exportName = exportName;
    this.size = negotiated.size;
    this.transmissionFlags = negotiated.transmissionFlags;
    this.flags = exportFlags(negotiated.transmissionFlags);
    this.blockSize = negotiated.blockSize;
    this.structuredReplies = negotiated.structuredReplies;
    this.#contextIds = negotiated.metaContexts;
    this.metaContexts = [...negotiated.metaContexts.keys()];
    this.#maxInFlight = maxInFlight;
    const min = this.blockSize.minimum;
    this.#maxRead = Math.max(min, Math.floor(Math.min(this.blockSize.maximum, MAX_READ_REQUEST) / min) * min);
    void this.#receiveReplies();
  }

  /** Connects and negotiates; the returned client is ready for requests and must be closed. */
  static async connect(target: NbdTarget, options: NbdConnectOptions = {}): Promise<NbdClient> {
    const uri = typeof target === 'string' ? parseNbdUri(target) : { endpoint: endpointOf(target), exportName: '' };
    const exportName = options.exportName ?? uri.exportName;
    const maxInFlight = options.maxInFlight ?? 8;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
      throw invalidArgument(`maxInFlight must be a positive integer, got ${maxInFlight}`);
    }
    const location = formatNbdUri({ endpoint: uri.endpoint, exportName });

    const { socket, reader } = await openSocket(uri.endpoint, location);
    try {
      const negotiated = await negotiate(socket, reader, { exportName, metaContexts: options.metaContexts ?? [] }, location);
      if ((negotiated.transmissionFlags & TransmissionFlag.hasFlags) === 0) {
        throw new HoldfastError('ERR_CORRUPT', `NBD server at ${location} sent transmission flags without NBD_FLAG_HAS_FLAGS`);
      }
      return new NbdClient(socket, reader, location, exportName, negotiated, maxInFlight);
    } catch (err) {
      abortHandshake(socket);
      throw err;
    }
  }

  /** Requests waiting for their reply right now (at most maxInFlight). */
  get inFlight(): number {
    return this.#activeSlots;
  }

  /**
   * Reads length bytes at offset. Splits what exceeds the server's maximum request size (capped at
   * 32 MiB) into pipelined requests, and widens unaligned ranges to the server's minimum block size.
   */
  read(offset: number, length: number): Promise<Buffer> {
    return this.#track(async () => {
      this.#checkRange('read', offset, length);
      return this.#readInto(offset, Buffer.allocUnsafe(length));
    });
  }

  /**
   * Reads target.length bytes at offset into target (so callers can reuse buffers) and returns it.
   * If the read fails, target may hold part of the data.
   */
  readInto(offset: number, target: Buffer): Promise<Buffer> {
    return this.#track(async () => {
      this.#checkRange('read', offset, target.length);
      return this.#readInto(offset, target);
    });
  }

  async #readInto(offset: number, target: Buffer): Promise<Buffer> {
    if (target.length === 0) return target;
    const { start, end } = this.#align(offset, offset + target.length);
    const aligned = start === offset && end === offset + target.length;
    const buf = aligned ? target : Buffer.allocUnsafe(end - start);
    const pieces: Promise<void>[] = [];
    for (let at = 0; at < buf.length; at += this.#maxRead) {
      const piece = buf.subarray(at, Math.min(buf.length, at + this.#maxRead));
      pieces.push(this.#request({ type: Command.read, flags: 0, offset: start + at, length: piece.length }, { target: piece }));
    }
    await Promise.all(pieces);
    if (!aligned) buf.copy(target, 0, offset - start, offset - start + target.length);
    return target;
  }

  /**
   * Extents of one negotiated metadata context from offset on. The server may describe less than
   * length (it often stops early); use extents() to walk a whole range.
   */
  blockStatus(context: string, offset: number, length: number): Promise<NbdExtent[]> {
    return this.#track(async () => {
      const id = this.#contextIds.get(context);
      if (id === undefined) {
        const negotiated = this.metaContexts.length === 0 ? 'none' : this.metaContexts.join(', ');
        throw invalidArgument(
          `metadata context ${context} was not negotiated with ${this.location} (negotiated: ${negotiated}); pass it in metaContexts`,
        );
      }
      this.#checkRange('block status', offset, length);
      if (length === 0) return [];
      const { start, end } = this.#align(offset, offset + Math.min(length, MAX_STATUS_REQUEST));
      const pending: Partial<Pending> = { context: { name: context, id } };
      await this.#request({ type: Command.blockStatus, flags: 0, offset: start, length: end - start }, pending);
      const extents: NbdExtent[] = [];
      let at = start;
      for (const d of pending.descriptors!) {
        const from = Math.max(at, offset);
        const to = Math.min(at + d.length, offset + length);
        if (to > from) extents.push({ offset: from, length: to - from, flags: d.flags });
        at += d.length;
      }
      return extents;
    });
  }

  /**
   * Every extent of a context over [offset, offset + length) (default: the whole export), in order,
   * with neighbours of equal flags merged so the result does not depend on request boundaries.
   */
  async *extents(context: string, range: { offset?: number; length?: number } = {}): AsyncGenerator<NbdExtent> {
    const offset = range.offset ?? 0;
    const end = offset + (range.length ?? this.size - offset);
    this.#checkRange('block status', offset, end - offset);
    let held: NbdExtent | undefined;
    for (let at = offset; at < end; ) {
      const extents = await this.blockStatus(context, at, end - at);
      if (extents.length === 0) {
        throw new HoldfastError('ERR_CORRUPT', `NBD server at ${this.location} described no extent of ${context} at offset ${at}`);
      }
      for (const e of extents) {
        if (held !== undefined && held.flags === e.flags && held.offset + held.length === e.offset) {
          held.length += e.length;
        } else {
          if (held !== undefined) yield held;
          held = { ...e };
        }
      }
      at = held!.offset + held!.length;
    }
    if (held !== undefined) yield held;
  }

  /**
   * Lets accepted calls finish, sends NBD_CMD_DISC and closes the connection. Calls made after
   * close() fail; calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#disconnect();
    return this.#closing;
  }

  async #disconnect(): Promise<void> {
    await Promise.allSettled([...this.#operations]);
    if (this.#broken === undefined && !this.#socket.destroyed) {
      const disc = encodeRequest({ type: Command.disc, flags: 0, cookie: this.#nextCookie++, offset: 0, length: 0 });
      this.#socket.end(disc, () => this.#socket.destroy());
    } else {
      this.#socket.destroy();
    }
    await this.#socketClosed;
  }

  /** Runs a public call, refusing it once close() began, and remembers it until it settles. */
  #track<T>(call: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) {
      return Promise.reject(invalidArgument(`NBD connection to ${this.location} is closed`));
    }
    const operation = call();
    this.#operations.add(operation);
    const forget = () => this.#operations.delete(operation);
    operation.then(forget, forget);
    return operation;
  }

  #checkRange(what: string, offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw invalidArgument(`NBD ${what}: offset and length must be non-negative integers, got ${offset} and ${length}`);
    }
    if (offset + length > this.size) {
      throw invalidArgument(
        `NBD ${what} of ${length} bytes at offset ${offset} is beyond the end of ${this.location} (size ${this.size})`,
      );
    }
  }

  /** Widens [start, end) to the server's minimum block size, staying inside the export. */
  #align(start: number, end: number): { start: number; end: number } {
    const min = this.blockSize.minimum;
    return { start: Math.floor(start / min) * min, end: Math.min(this.size, Math.ceil(end / min) * min) };
  }

  /** Sends one request once a slot is free and settles when its reply is complete. */
  async #request(header: Omit<RequestHeader, 'cookie'>, state: Partial<Pending>): Promise<void> {
    await this.#acquireSlot();
    // The connection may have broken between the slot being handed over and this continuation.
    if (this.#broken !== undefined) {
      this.#releaseSlot();
      throw this.#broken;
    }
    const cookie = this.#nextCookie++;
    const full = { ...header, cookie };
    const kind = header.type === Command.read ? 'read' : `block status (${state.context?.name})`;
    const what = `${kind} of ${header.length} bytes at offset ${header.offset}`;
    const done = new Promise<void>((resolve, reject) => {
      const pending = state as Pending;
      Object.assign(pending, { header: full, what, covered: [], resolve, reject });
      this.#pending.set(cookie, pending);
    });
    this.#socket.write(encodeRequest(full));
    return done;
  }

  #acquireSlot(): Promise<void> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    if (this.#activeSlots < this.#maxInFlight) {
      this.#activeSlots++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.#slotWaiters.push({ resolve, reject }));
  }

  /** Hands the slot straight to the next waiter, so waiters are served in order. */
  #releaseSlot(): void {
    const next = this.#slotWaiters.shift();
    if (next !== undefined) next.resolve();
    else this.#activeSlots--;
  }

  async #receiveReplies(): Promise<void> {
    try {
      for (;;) {
        const head = await this.#reader.read(SIMPLE_REPLY_LENGTH);
        const full = replyHeaderLength(head) === CHUNK_HEADER_LENGTH
          ? Buffer.concat([head, await this.#reader.read(CHUNK_HEADER_LENGTH - SIMPLE_REPLY_LENGTH)])
          : head;
        const reply = decodeReplyHeader(full);
        const pending = this.#pending.get(reply.cookie);
        if (pending === undefined) throw malformed(`reply for handle ${reply.cookie}, which has no request in flight`);
        if (reply.kind === 'simple') await this.#onSimpleReply(pending, reply);
        else await this.#onChunk(pending, reply);
      }
    } catch (err) {
      this.#fail(err);
    }
  }

  async #onSimpleReply(pending: Pending, reply: SimpleReply): Promise<void> {
    if (reply.error !== 0) {
      this.#finish(pending, this.#serverError(pending, reply.error, ''));
      return;
    }
    if (pending.header.type === Command.blockStatus) throw malformed('simple reply to a block status request');
    // With structured replies a simple READ reply would leave the stream ambiguous, so the spec forbids it.
    if (this.structuredReplies) throw malformed('simple reply to a read after structured replies were negotiated');
    await this.#reader.readInto(pending.target!);
    pending.covered.push({ offset: 0, length: pending.header.length });
    this.#finish(pending);
  }

  async #onChunk(pending: Pending, chunk: ChunkHeader): Promise<void> {
    const isRead = pending.header.type === Command.read;
    switch (chunk.type) {
      case ReplyType.offsetData: {
        if (!isRead || chunk.length <= OFFSET_DATA_PREFIX_LENGTH) {
          throw malformed(`data chunk of ${chunk.length} bytes in reply to a ${pending.what}`);
        }
        const offset = decodeOffsetDataPrefix(await this.#reader.read(OFFSET_DATA_PREFIX_LENGTH));
        const range = this.#within(pending, offset, chunk.length - OFFSET_DATA_PREFIX_LENGTH, 'data');
        await this.#reader.readInto(pending.target!.subarray(range.offset, range.offset + range.length));
        pending.covered.push(range);
        break;
      }
      case ReplyType.offsetHole: {
        if (!isRead || chunk.length !== OFFSET_HOLE_LENGTH) {
          throw malformed(`hole chunk of ${chunk.length} bytes in reply to a ${pending.what}`);
        }
        const hole = decodeOffsetHole(await this.#reader.read(OFFSET_HOLE_LENGTH));
        const range = this.#within(pending, hole.offset, hole.length, 'hole');
        pending.target!.fill(0, range.offset, range.offset + range.length);
        pending.covered.push(range);
        break;
      }
      case ReplyType.blockStatus: {
        if (isRead || chunk.length > MAX_CHUNK_PAYLOAD) {
          throw malformed(`block status chunk of ${chunk.length} bytes in reply to a ${pending.what}`);
        }
        const status = decodeBlockStatus(await this.#reader.read(chunk.length));
        if (status.contextId !== pending.context!.id) break;
        if (pending.descriptors !== undefined) throw malformed(`two block status chunks for ${pending.context!.name}`);
        // The final extent may run past the request (nbdkit reports whole holes); earlier ones may not.
        const beforeLast = status.descriptors.slice(0, -1).reduce((sum, d) => sum + d.length, 0);
        if (beforeLast >= pending.header.length) throw malformed(`block status describes more than the ${pending.what}`);
        pending.descriptors = status.descriptors;
        break;
      }
      case ReplyType.none:
        if (chunk.length !== 0 || (chunk.flags & ReplyFlag.done) === 0) {
          throw malformed('NBD_REPLY_TYPE_NONE with a payload or without the DONE flag');
        }
        break;
      default: {
        if (!isErrorReplyType(chunk.type)) throw malformed(`unknown chunk type ${chunk.type} in reply to a ${pending.what}`);
        if (chunk.length > 6 + MAX_STRING_BYTES + 8) throw malformed(`error chunk of ${chunk.length} bytes`);
        const error = decodeErrorChunk(chunk.type, await this.#reader.read(chunk.length));
        pending.error ??= this.#serverError(pending, error.errno, error.message, error.offset);
      }
    }
    if ((chunk.flags & ReplyFlag.done) !== 0) this.#finish(pending);
  }

  /** A content chunk's place inside the request's target, refusing chunks outside the request. */
  #within(pending: Pending, offset: number, length: number, kind: string): Range {
    const start = offset - pending.header.offset;
    if (start < 0 || start + length > pending.header.length) {
      throw malformed(`${kind} chunk at offset ${offset} (${length} bytes) lies outside the ${pending.what}`);
    }
    return { offset: start, length };
  }

  #finish(pending: Pending, error?: HoldfastError): void {
    this.#pending.delete(pending.header.cookie);
    this.#releaseSlot();
    const failure = error ?? pending.error ?? this.#incompleteReply(pending);
    if (failure === undefined) pending.resolve();
    else pending.reject(failure);
  }

  /** Why a successful-looking reply cannot be used: a read not fully covered, or a missing context. */
  #incompleteReply(pending: Pending): HoldfastError | undefined {
    if (pending.header.type === Command.blockStatus) {
      if (pending.descriptors !== undefined) return undefined;
      return new HoldfastError(
        'ERR_CORRUPT',
        `NBD server at ${this.location} answered a ${pending.what} without extents for ${pending.context!.name}`,
      );
    }
    const parts = pending.covered.sort((a, b) => a.offset - b.offset);
    let end = 0;
    for (const part of parts) {
      if (part.offset !== end) break;
      end += part.length;
    }
    if (end === pending.header.length) return undefined;
    return new HoldfastError(
      'ERR_CORRUPT',
      `NBD server at ${this.location} answered a ${pending.what} with gaps or overlaps (first problem at byte ${end})`,
    );
  }

  /** The error a request fails with; the spec asks a client told ESHUTDOWN to disconnect. */
  #serverError(pending: Pending, errno: number, message: string, offset?: number): HoldfastError {
    if (errno === Errno.ESHUTDOWN) void this.close();
    const at = offset === undefined ? '' : ` at offset ${offset}`;
    const text = oneLine(message);
    const said = text === '' ? '' : `: ${text}`;
    const code = errno === Errno.EINVAL ? 'ERR_INVALID_ARGUMENT' : 'ERR_IO';
    return new HoldfastError(code, `NBD server at ${this.location} failed a ${pending.what}: ${describeErrno(errno)}${at}${said}`);
  }

  /** The connection is unusable: fail everything pending and queued, and drop the socket. */
  #fail(err: unknown): void {
    const quietEnd = err instanceof PeerClosedError && this.#pending.size === 0 && this.#closing !== undefined;
    const broken = this.#describeFailure(err, undefined);
    this.#broken ??= broken;
    for (const pending of this.#pending.values()) pending.reject(this.#describeFailure(err, pending));
    // Each pending request held a slot; a slot handed to a request not yet sent is given back by #request.
    this.#activeSlots -= this.#pending.size;
    this.#pending.clear();
    for (const waiter of this.#slotWaiters.splice(0)) waiter.reject(broken);
    if (!quietEnd) this.#socket.destroy();
  }

  #describeFailure(err: unknown, pending: Pending | undefined): HoldfastError {
    const during = pending === undefined ? '' : ` during a ${pending.what}`;
    if (err instanceof PeerClosedError) {
      return new HoldfastError('ERR_NETWORK', `NBD server at ${this.location} closed the connection${during}`, { cause: err });
    }
    if (err instanceof MalformedMessage) {
      return new HoldfastError('ERR_CORRUPT', `NBD server at ${this.location} sent a malformed reply${during}: ${err.message}`);
    }
    if (err instanceof HoldfastError) return err;
    return new HoldfastError('ERR_NETWORK', `NBD connection to ${this.location} failed${during}: ${String(err)}`, { cause: err });
  }
}

function endpointOf(target: Exclude<NbdTarget, string>): NbdEndpoint {
  return 'socket' in target ? { socket: target.socket } : { host: target.host, port: target.port ?? NBD_DEFAULT_PORT };
}

function exportFlags(flags: number): NbdExportFlags {
  const has = (bit: number) => (flags & bit) !== 0;
  return {
    readOnly: has(TransmissionFlag.readOnly),
    canFlush: has(TransmissionFlag.sendFlush),
    canFua: has(TransmissionFlag.sendFua),
    rotational: has(TransmissionFlag.rotational),
    canTrim: has(TransmissionFlag.sendTrim),
    canWriteZeroes: has(TransmissionFlag.sendWriteZeroes),
    canDf: has(TransmissionFlag.sendDf),
    canMultiConn: has(TransmissionFlag.canMultiConn),
    canCache: has(TransmissionFlag.sendCache),
    canFastZero: has(TransmissionFlag.sendFastZero),
  };
}

function openSocket(endpoint: NbdEndpoint, location: string): Promise<{ socket: Socket; reader: SocketReader }> {
  return new Promise((resolve, reject) => {
    const socket =
      'socket' in endpoint ? netConnect({ path: endpoint.socket }) : netConnect({ host: endpoint.host, port: endpoint.port });
    const onError = (err: NodeJS.ErrnoException) => {
      const message = `cannot connect to NBD server at ${location}: ${describeConnectError(err)}`;
      reject(new HoldfastError('ERR_NETWORK', message, { cause: err }));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      // The reader takes over error handling in the same tick, so no socket error goes unheard.
      const reader = new SocketReader(socket);
      socket.off('error', onError);
      // Requests are small and pipelined; Nagle's algorithm would hold them back.
      if (!('socket' in endpoint)) socket.setNoDelay(true);
      resolve({ socket, reader });
    });
  });
}

function describeConnectError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server running and listening there?)';
    case 'ENOENT':
      return 'no such socket file (is the server running?)';
    case 'EACCES':
      return 'permission denied';
    case 'ENOTFOUND':
      return 'unknown host';
    default:
      return err.message;
  }
}
