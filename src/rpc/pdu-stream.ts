/**
 * The transport half of a connection: whole PDUs out of a TCP byte stream (frag_length
 * framing, the slow-loris guard), output with its queue limit, closing. The association
 * state machine (src/rpc/connection.ts) builds on it and sees only whole PDUs.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { HEADER_LENGTH } from './constants';
import { decodeHeader, peekFragLength, type PduHeader } from './pdu';
import { PduError } from './wire';
import type { ResolvedOptions } from './options';
import type { RpcStats } from './stats';
import { monotonicMs } from '../lib/time';

let nextConnectionId = 1;
/** Shared empty receive buffer: a Buffer.alloc(0) per idle connection is ~180 B (heap snapshot). */
const NO_BYTES = Buffer.alloc(0);

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
  this[STREAM].log.debug({ err: err.message }, 'socket error');
}
function onSocketClose(this: StreamSocket): void {
  this[STREAM].teardown('peer closed the connection');
}

export abstract class PduStream {
  readonly id = nextConnectionId++;
  protected closed = false;
  private logger: Logger | undefined;
  private rx: Buffer = NO_BYTES;
  /** Runs while part of a PDU sits in rx; reset by every whole PDU. */
  private partialTimer: NodeJS.Timeout | undefined;
  private lastActiveAt = monotonicMs();

  constructor(protected readonly socket: Socket, protected readonly options: ResolvedOptions, private readonly stats: RpcStats) {
    // Debug lines name the peer even after it left (addresses are read lazily otherwise).
    if (options.logger.isLevelEnabled('debug')) void [socket.localAddress, socket.remoteAddress];
    socket.setNoDelay(true);
    (socket as StreamSocket)[STREAM] = this;
    socket.on('data', onSocketData);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  }

  /** One whole PDU (frag_length bytes, version 5.0/5.1 checked). PduError → protocolViolation. */
  protected abstract onPdu(pdu: Buffer): void;
  /** Answer a broken PDU (h undefined when even the header is unusable) and close. */
  protected abstract protocolViolation(h: PduHeader | undefined, why: string): void;
  /** Once, when the connection ends for any reason (the socket may already be gone). */
  protected abstract onClosed(why: string): void;

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

  /** monotonicMs() when bytes last arrived (the server's eviction at the connection limit). */
  get lastActive(): number {
    return this.lastActiveAt;
  }

  /** The connection's child logger, made on first use (most connections never log). */
  get log(): Logger {
    this.logger ??= this.options.logger.child({ conn: this.id, remote: `${this.remoteAddress}:${this.remotePort}`, port: this.localPort });
    return this.logger;
  }

  /** Whether a debug line is due (without making the child logger for nothing). */
  protected get logsDebug(): boolean {
    return this.logger !== undefined || this.options.logger.isLevelEnabled('debug');
  }

  onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastActiveAt = monotonicMs();
    this.rx = this.rx.length === 0 ? chunk : Buffer.concat([this.rx, chunk]);
    while (!this.closed && this.rx.length >= HEADER_LENGTH) {
      if (this.rx[0] !== 5 || this.rx[1] > 1) {
        this.protocolViolation(undefined, `unsupported RPC version ${this.rx[0]}.${this.rx[1]}`);
        return;
      }
      const fragLength = peekFragLength(this.rx);
      if (fragLength < HEADER_LENGTH) {
        this.protocolViolation(undefined, `frag_length ${fragLength} shorter than a header`);
        return;
      }
      if (this.rx.length < fragLength) break;
      const pdu = this.rx.length === fragLength ? this.rx : this.rx.subarray(0, fragLength);
      this.rx = this.rx.length === fragLength ? NO_BYTES : this.rx.subarray(fragLength);
      if (this.partialTimer) {
        clearTimeout(this.partialTimer);
        this.partialTimer = undefined;
      }
      this.stats.pktsIn++;
      try {
        this.onPdu(pdu);
      } catch (err) {
        if (err instanceof PduError) {
          this.protocolViolation(decodeHeaderSafe(pdu), err.message);
        } else {
          this.log.error({ err }, 'internal error while handling a PDU');
          this.close('internal error');
        }
      }
    }
    if (this.rx.length === 0) this.rx = NO_BYTES;
    else if (!this.closed && !this.partialTimer) {
      // Slow-loris guard: a PDU begun must arrive whole in time.
      const ms = this.options.limits.partialPduMs;
      this.partialTimer = setTimeout(() => {
        this.log.info({ ms, buffered: this.rx.length }, 'closing a connection whose PDU never completed');
        this.close('incomplete PDU');
      }, ms);
      this.partialTimer.unref();
    }
  }

  protected send(buf: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    this.stats.pktsOut++;
    this.socket.write(buf);
    if (this.socket.writableLength > this.options.limits.maxQueuedOutputBytes) {
      this.log.warn({ queued: this.socket.writableLength }, 'client does not read its responses; closing');
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
  protected closeAndWait(why: string): Promise<void> {
    return new Promise<void>((res) => {
      if (this.socket.destroyed) return res();
      this.socket.once('close', () => res());
      this.close(why);
    });
  }

  teardown(why: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.partialTimer) clearTimeout(this.partialTimer);
    this.partialTimer = undefined;
    this.onClosed(why);
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
