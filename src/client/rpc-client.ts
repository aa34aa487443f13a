/**
 * A minimal DCE/RPC connection-oriented client over TCP: anonymous bind with NDR 2.0,
 * requests and responses with fragments, several calls in flight on one connection
 * (responses may come back in any order), cancellation by AbortSignal (co_cancel).
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import {
  PTYPE,
  PFC_LAST_FRAG,
  buildBind,
  buildRequest,
  buildSimple,
  faultStatus,
  parseBindAck,
  parseBindNakReason,
  responseStub,
  splitPdus,
  type BindAck,
  type Pdu,
  type Syntax,
} from './pdu';

/** The server answered a call with a fault PDU. */
export class RpcFault extends Error {
  constructor(readonly status: number) {
    super(`DCE/RPC fault 0x${(status >>> 0).toString(16).padStart(8, '0')}`);
    this.name = 'RpcFault';
  }
}

/** bind_nak, or a bind_ack refusing our presentation context. */
export class RpcBindError extends Error {
  constructor(message: string, readonly reason: number) {
    super(message);
    this.name = 'RpcBindError';
  }
}

export class RpcConnectionClosed extends Error {
  constructor(message = 'connection closed') {
    super(message);
    this.name = 'RpcConnectionClosed';
  }
}

export interface RpcClientOptions {
  readonly host: string;
  readonly port: number;
  /** Our local address (e.g. to come from a particular loopback address). */
  readonly localAddress?: string;
  readonly connectTimeoutMs?: number;
  /** Our max fragment size offered in bind (default 5840, what smbtorture offers). */
  readonly maxFrag?: number;
  /** Bound on one reassembled response (default 4 MiB). */
  readonly maxResponse?: number;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  /** Reject (and send co_cancel) after this many ms. */
  readonly timeoutMs?: number;
}

interface PendingCall {
  readonly resolve: (b: Buffer) => void;
  readonly reject: (e: Error) => void;
  chunks: Buffer[];
  size: number;
  cleanup: () => void;
}

export class RpcClient extends EventEmitter {
  private readonly socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private nextCallId = 1;
  private readonly calls = new Map<number, PendingCall>();
  private bindWaiter: { resolve: (p: Pdu) => void; reject: (e: Error) => void } | undefined;
  private maxXmit = 1432;
  private readonly maxFrag: number;
  private readonly maxResponse: number;
  /** Why the connection ended; the Error is only built when someone needs it (closes are common). */
  private closedReason: string | undefined;
  private closedErr: Error | undefined;
  assocGroupId = 0;
  contextId = 0;

  private constructor(socket: net.Socket, opts: RpcClientOptions) {
    super();
    this.socket = socket;
    this.maxFrag = opts.maxFrag ?? 5840;
    this.maxResponse = opts.maxResponse ?? 4 * 1024 * 1024;
    socket.on('data', (d) => this.onData(d));
    socket.on('error', (e) => this.fail(`connection error: ${e.message}`));
    socket.on('close', () => this.fail('connection closed'));
  }

  static connect(opts: RpcClientOptions): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: opts.host, port: opts.port, localAddress: opts.localAddress });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${opts.host}:${opts.port} timed out`));
      }, opts.connectTimeoutMs ?? 5000);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RpcClient(socket, opts));
      });
    });
  }

  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  private get closedError(): Error | undefined {
    if (this.closedReason === undefined) return undefined;
    return (this.closedErr ??= new RpcConnectionClosed(this.closedReason));
  }

  /** Bind one presentation context (NDR 2.0); joins an association group when given. */
  async bind(abstract: Syntax, assocGroupId = 0): Promise<BindAck> {
    if (this.closedError) throw this.closedError;
    if (this.bindWaiter) throw new Error('a bind is already in progress');
    const pdu = await new Promise<Pdu>((resolve, reject) => {
      this.bindWaiter = { resolve, reject };
      this.socket.write(buildBind(this.nextCallId++, abstract, this.maxFrag, assocGroupId, this.contextId));
    });
    if (pdu.ptype === PTYPE.BIND_NAK) {
      const reason = parseBindNakReason(pdu);
      throw new RpcBindError(`bind_nak (reason ${reason})`, reason);
    }
    if (pdu.ptype !== PTYPE.BIND_ACK) throw new RpcBindError(`unexpected PDU type ${pdu.ptype} in answer to bind`, -1);
    const ack = parseBindAck(pdu);
    const r = ack.results[0];
    if (!r || r.result !== 0) throw new RpcBindError(`presentation context refused (result ${r?.result}, reason ${r?.reason})`, r?.reason ?? -1);
    this.maxXmit = Math.min(ack.maxXmit, this.maxFrag);
    this.assocGroupId = ack.assocGroupId;
    return ack;
  }

  /** One request; resolves with the response stub, rejects with RpcFault / RpcConnectionClosed. */
  call(opnum: number, stub: Buffer, opts: CallOptions = {}): Promise<Buffer> {
    if (this.closedError) return Promise.reject(this.closedError);
    const callId = this.nextCallId++;
    return new Promise<Buffer>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        if (!this.calls.has(callId)) return;
        this.calls.delete(callId);
        pending.cleanup();
        if (!this.closed) this.socket.write(buildSimple(PTYPE.CO_CANCEL, callId));
        reject(opts.signal?.aborted ? new Error('call aborted') : new Error(`call timed out after ${opts.timeoutMs} ms`));
      };
      const pending: PendingCall = {
        resolve,
        reject,
        chunks: [],
        size: 0,
        cleanup: () => {
          if (timer) clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
        },
      };
      if (opts.signal?.aborted) {
        reject(new Error('call aborted'));
        return;
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.timeoutMs !== undefined) timer = setTimeout(onAbort, opts.timeoutMs);
      this.calls.set(callId, pending);
      for (const frag of buildRequest(callId, this.contextId, opnum, stub, this.maxXmit)) this.socket.write(frag);
    });
  }

  /** Calls in flight. */
  get inFlight(): number {
    return this.calls.size;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, d]) : d;
    let pdus: Pdu[];
    try {
      const r = splitPdus(this.buffer, 65535);
      pdus = r.pdus;
      this.buffer = Buffer.from(r.rest);
    } catch (e) {
      this.fail(`protocol error: ${(e as Error).message}`);
      this.socket.destroy();
      return;
    }
    for (const p of pdus) this.onPdu(p);
  }

  private onPdu(p: Pdu): void {
    if (p.ptype === PTYPE.BIND_ACK || p.ptype === PTYPE.BIND_NAK) {
      const w = this.bindWaiter;
      this.bindWaiter = undefined;
      w?.resolve(p);
      return;
    }
    if (p.ptype === PTYPE.SHUTDOWN) {
      this.emit('shutdown');
      return;
    }
    const call = this.calls.get(p.callId);
    if (!call) return; // a late answer to a cancelled call
    if (p.ptype === PTYPE.FAULT) {
      this.calls.delete(p.callId);
      call.cleanup();
      call.reject(new RpcFault(faultStatus(p)));
      return;
    }
    if (p.ptype !== PTYPE.RESPONSE) return;
    const stub = responseStub(p);
    call.size += stub.length;
    if (call.size > this.maxResponse) {
      this.calls.delete(p.callId);
      call.cleanup();
      call.reject(new Error(`response larger than ${this.maxResponse} bytes`));
      return;
    }
    call.chunks.push(Buffer.from(stub));
    if (p.flags & PFC_LAST_FRAG) {
      this.calls.delete(p.callId);
      call.cleanup();
      call.resolve(call.chunks.length === 1 ? call.chunks[0] : Buffer.concat(call.chunks));
    }
  }

  private fail(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    const w = this.bindWaiter;
    this.bindWaiter = undefined;
    if (w) w.reject(this.closedError as Error);
    for (const [id, c] of this.calls) {
      this.calls.delete(id);
      c.cleanup();
      c.reject(this.closedError as Error);
    }
    this.emit('close', reason);
  }
}
