/**
 * The transport half of a connection: whole PDUs out of a TCP byte stream (frag_length
 * framing, the slow-loris guard), output with its queue limit, closing. It is given the
 * association above it (src/rpc/connection.ts) as a PduHandler, which sees only whole PDUs.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { HEADER_LENGTH } from './constants';
import { decodeHeader, peekFragLength, type PduHeader } from './pdu';
import { PduError } from './wire';
import type { ResolvedOptions } from './options';
import type { RpcStats } from './stats';
import { monotonicMs } from '../lib/time';

/** What every transport of one server shares (read through the handler, not copied). */
export interface TransportHost {
  readonly options: ResolvedOptions;
  readonly stats: RpcStats;
}

/** The association a transport feeds. */
export interface PduHandler {
  readonly host: TransportHost;
  readonly log: Logger;
  /** One whole PDU (frag_length bytes, version 5.0/5.1 checked). PduError → protocolViolation. */
  onPdu(pdu: Buffer): void;
  /** Answer a broken PDU (h undefined when even the header is unusable) and close. */
  protocolViolation(h: PduHeader | undefined, why: string): void;
  /** Once, when the connection ends for any reason (the socket may already be gone). */
  onClosed(why: string): void;
}

/** Shared empty receive buffer: a Buffer.alloc(0) per idle connection is ~180 B (heap snapshot). */
const NO_BYTES = Buffer.alloc(0);
/** The receive buffer of a closed stream: being closed costs no field of its own. */
const CLOSED = Buffer.alloc(0);

/**
 * Socket listeners shared by every connection (a closure each per connection is ~0.2 KB,
 * memory benchmark): the socket knows its stream by this symbol.
 */
const STREAM = Symbol('witnessd.pduStream');
type StreamSocket = Socket & { [STREAM]: PduStream };
function onSocketData(this: StreamSocket, d: Buffer): void {
  this[STREAM].onData(d);
}
function onSocketError(this: StreamSocket, err: Error): void {
  this[STREAM].handler.log.debug({ err: err.message }, 'socket error');
}
function onSocketClose(this: StreamSocket): void {
  this[STREAM].teardown('peer closed the connection');
}

/**
 * A PDU arriving in many small pieces: the pieces are kept and joined once it is whole. Joining
 * each piece onto what came before (Buffer.concat per chunk) copied the PDU once per piece: 500
 * connections dripping 64-byte chunks cost 70 % of a core (hostile probe, issue 23).
 */
class Collecting {
  readonly chunks: Buffer[];
  length: number;
  constructor(first: Buffer, readonly want: number) {
    this.chunks = [first];
    this.length = first.length;
  }
}

export class PduStream {
  private rx: Buffer = NO_BYTES;
  /** Set while a PDU longer than rx is being collected (rx is then empty). */
  private collecting: Collecting | undefined = undefined;
  /** Runs while part of a PDU is being collected; reset by every whole PDU. */
  private partialTimer: NodeJS.Timeout | undefined = undefined;
  private lastActiveAt = monotonicMs();

  constructor(private readonly socket: Socket, readonly handler: PduHandler) {
    // Debug lines name the peer even after it left (addresses are read lazily otherwise).
    if (handler.host.options.logger.isLevelEnabled('debug')) void [socket.localAddress, socket.remoteAddress];
    (socket as StreamSocket)[STREAM] = this;
    socket.on('data', onSocketData);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  }

  // The socket's addresses, read when first used: Node keeps them in two objects per socket,
  // ~0.15 KB that most connections never need (a client waiting in AsyncNotify; memory
  // benchmark). After the socket closed, only what was read before is known.
  // IPv4 clients of a dual-stack listener appear as ::ffff:a.b.c.d; services want a.b.c.d.
  get localAddress(): string {
    return unmapIPv4(this.socket.localAddress ?? '');
  }
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }
  get remoteAddress(): string {
    return unmapIPv4(this.socket.remoteAddress ?? '');
  }
  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }

  get closed(): boolean {
    return this.rx === CLOSED;
  }

  /** monotonicMs() when bytes last arrived (the server's eviction at the connection limit). */
  get lastActive(): number {
    return this.lastActiveAt;
  }

  onData(chunk: Buffer): void {
    if (this.closed) return;
    const h = this.handler;
    this.lastActiveAt = monotonicMs();
    const c = this.collecting;
    if (c) {
      c.chunks.push(chunk);
      c.length += chunk.length;
      if (c.length < c.want) return;
      this.collecting = undefined;
      this.rx = Buffer.concat(c.chunks, c.length);
    } else {
      this.rx = chunk;
    }
    while (!this.closed && this.rx.length >= HEADER_LENGTH) {
      if (this.rx[0] !== 5 || this.rx[1] > 1) {
        h.protocolViolation(undefined, `unsupported RPC version ${this.rx[0]}.${this.rx[1]}`);
        return;
      }
      const fragLength = peekFragLength(this.rx);
      if (fragLength < HEADER_LENGTH) {
        h.protocolViolation(undefined, `frag_length ${fragLength} shorter than a header`);
        return;
      }
      if (this.rx.length < fragLength) break;
      const pdu = this.rx.length === fragLength ? this.rx : this.rx.subarray(0, fragLength);
      this.rx = this.rx.length === fragLength ? NO_BYTES : this.rx.subarray(fragLength);
      if (this.partialTimer) {
        clearTimeout(this.partialTimer);
        this.partialTimer = undefined;
      }
      h.host.stats.pktsIn++;
      try {
        h.onPdu(pdu);
      } catch (err) {
        if (err instanceof PduError) {
          h.protocolViolation(decodeHeaderSafe(pdu), err.message);
        } else {
          h.log.error({ err }, 'internal error while handling a PDU');
          this.close('internal error');
        }
      }
    }
    if (this.closed) return;
    if (this.rx.length === 0) this.rx = NO_BYTES;
    else {
      // The rest of the PDU (or of its header) is collected piece by piece from here.
      this.collecting = new Collecting(this.rx, this.rx.length >= HEADER_LENGTH ? peekFragLength(this.rx) : HEADER_LENGTH);
      this.rx = NO_BYTES;
    }
    if (this.collecting && !this.partialTimer) {
      // Slow-loris guard: a PDU begun must arrive whole in time.
      const ms = h.host.options.limits.partialPduMs;
      this.partialTimer = setTimeout(() => {
        h.log.info({ ms, buffered: this.collecting?.length ?? 0 }, 'closing a connection whose PDU never completed');
        this.close('incomplete PDU');
      }, ms);
      this.partialTimer.unref();
    }
  }

  send(buf: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    const host = this.handler.host;
    host.stats.pktsOut++;
    this.socket.write(buf);
    if (this.socket.writableLength > host.options.limits.maxQueuedOutputBytes) {
      this.handler.log.warn({ queued: this.socket.writableLength }, 'client does not read its responses; closing');
      this.socket.destroy();
      this.teardown('output queue limit');
    }
  }

  /** End the connection after what is queued. */
  close(why: string): void {
    if (this.closed) return;
    this.teardown(why);
    this.socket.end();
    // A client that never reads must not keep the socket half-open forever.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Resolves when the socket is gone (closing it if it is not closing yet). */
  closeAndWait(why: string): Promise<void> {
    return new Promise<void>((res) => {
      if (this.socket.destroyed) return res();
      this.socket.once('close', () => res());
      this.close(why);
    });
  }

  teardown(why: string): void {
    if (this.closed) return;
    this.rx = CLOSED;
    this.collecting = undefined;
    if (this.partialTimer) clearTimeout(this.partialTimer);
    this.partialTimer = undefined;
    this.handler.onClosed(why);
  }
}

function unmapIPv4(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

function decodeHeaderSafe(pdu: Buffer): PduHeader | undefined {
  try {
    return decodeHeader(pdu);
  } catch {
    return undefined;
  }
}
