/**
 * One connection to ctdbd's Unix socket: controls with request ids and timeouts, messages
 * for the srvids we registered, a bounded receive buffer. Anything the peer sends that is
 * not a CTDB packet (bad length, bad magic, truncated body) closes the connection with a
 * reason; the owner (CtdbSource) logs it and reconnects. Nothing here throws into the
 * event loop.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { CTDB_CONTROL_TIMEOUT_MS } from '../../config/cluster-ctdb';
import {
  type ControlRequest, CtdbProtocolError, decodePacket, encodeControl, packetLength, type CtdbPacket,
} from './protocol';

export interface ControlReply {
  readonly status: number;
  readonly data: Buffer;
  readonly error: string;
}

export class CtdbControlError extends Error {
  constructor(
    readonly opcode: number,
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'CtdbControlError';
  }
}


export interface CtdbConnectionOptions {
  readonly path: string;
  readonly logger?: Logger;
  /** A control without a reply after this long fails (default CTDB_CONTROL_TIMEOUT_MS). */
  readonly controlTimeoutMs?: number;
  /** A connect that has not completed after this long fails (default CTDB_CONTROL_TIMEOUT_MS). */
  readonly connectTimeoutMs?: number;
  readonly onMessage: (srvid: bigint, data: Buffer) => void;
  /** Called once, when the connection is gone for any reason after it was established. */
  readonly onClose: (reason: string) => void;
}

/** More controls in flight than this is a bug in the caller, not load. */
const MAX_PENDING_CONTROLS = 1024;

interface Pending {
  readonly opcode: number;
  readonly resolve: (r: ControlReply) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class CtdbConnection {
  private readonly pending = new Map<number, Pending>();
  private nextReqid = 1;
  private chunks: Buffer[] = [];
  private closedReason: string | undefined;

  private constructor(
    private readonly socket: net.Socket,
    private readonly opts: CtdbConnectionOptions,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close('ctdbd closed the connection'));
  }

  /** Connect; rejects with the socket error (ENOENT, ECONNREFUSED, EACCES) or a timeout. */
  static connect(opts: CtdbConnectionOptions): Promise<CtdbConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ path: opts.path });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${opts.path} timed out`));
      }, opts.connectTimeoutMs ?? CTDB_CONTROL_TIMEOUT_MS);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new CtdbConnection(socket, opts));
      });
    });
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Send a control and wait for its reply. A non-zero status is the caller's to judge. */
  control(req: ControlRequest, timeoutMs = this.opts.controlTimeoutMs ?? CTDB_CONTROL_TIMEOUT_MS): Promise<ControlReply> {
    if (this.closedReason !== undefined) return Promise.reject(new CtdbControlError(req.opcode, undefined, `connection closed: ${this.closedReason}`));
    if (this.pending.size >= MAX_PENDING_CONTROLS) return Promise.reject(new CtdbControlError(req.opcode, undefined, 'too many controls in flight'));
    const reqid = this.nextReqid;
    this.nextReqid = this.nextReqid >= 0xfffffffe ? 1 : this.nextReqid + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqid);
        reject(new CtdbControlError(req.opcode, undefined, `control ${req.opcode} to node ${req.destnode ?? 'local'}: no reply after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(reqid, { opcode: req.opcode, resolve, reject, timer });
      this.socket.write(encodeControl(reqid, req));
    });
  }

  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.socket.destroy();
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new CtdbControlError(p.opcode, undefined, `connection closed: ${reason}`));
    }
    this.pending.clear();
    this.chunks = [];
    this.opts.onClose(reason);
  }

  private onData(chunk: Buffer): void {
    if (this.closedReason !== undefined) return;
    this.chunks.push(chunk);
    try {
      for (;;) {
        const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
        this.chunks = buf.length > 0 ? [buf] : [];
        const len = packetLength(buf);
        if (len === undefined || buf.length < len) return; // packetLength bounds len, so the buffer stays bounded
        const pkt = decodePacket(buf.subarray(0, len));
        const rest = buf.subarray(len);
        this.chunks = rest.length > 0 ? [rest] : [];
        this.dispatch(pkt);
        if (this.closedReason !== undefined || rest.length === 0) return;
      }
    } catch (err) {
      const what = err instanceof CtdbProtocolError || err instanceof RangeError ? err.message : String(err);
      this.opts.logger?.error({ err: what, path: this.opts.path }, `ctdbd sent a packet that is not CTDB's protocol (${what}): reconnecting`);
      this.close(`protocol error: ${what}`);
    }
  }

  private dispatch(pkt: CtdbPacket): void {
    if (pkt.kind === 'reply') {
      const p = this.pending.get(pkt.header.reqid);
      if (!p) {
        this.opts.logger?.debug({ reqid: pkt.header.reqid }, 'ctdbd reply for no pending control (timed out?)');
        return;
      }
      this.pending.delete(pkt.header.reqid);
      clearTimeout(p.timer);
      p.resolve({ status: pkt.status, data: Buffer.from(pkt.data), error: pkt.error });
    } else if (pkt.kind === 'message') {
      try {
        this.opts.onMessage(pkt.srvid, Buffer.from(pkt.data));
      } catch (err) {
        // The owner's bug, not the peer's: log it and keep the connection.
        this.opts.logger?.error({ err, srvid: `0x${pkt.srvid.toString(16)}` }, 'ctdb: a message handler failed');
      }
    } else {
      this.opts.logger?.debug({ operation: pkt.header.operation }, 'ctdbd packet ignored');
    }
  }
}
