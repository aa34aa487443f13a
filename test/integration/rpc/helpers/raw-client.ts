/**
 * A raw TCP peer for raw-PDU tests: send bytes, receive whole PDUs, notice the close.
 * Every wait is bounded.
 */
import net from 'node:net';
import { PT, type Parsed, type RequestSpec, parse, request } from './pdu-builder';

export class RawClient {
  private rx = Buffer.alloc(0);
  private readonly queue: Parsed[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.rx = Buffer.concat([this.rx, d]);
      while (this.rx.length >= 10) {
        const len = (this.rx[4] & 0x10) ? this.rx.readUInt16LE(8) : this.rx.readUInt16BE(8);
        if (this.rx.length < len) break;
        this.queue.push(parse(Buffer.from(this.rx.subarray(0, len))));
        this.rx = this.rx.subarray(len);
      }
      this.wake();
    });
    socket.on('close', () => { this.closed = true; this.wake(); });
    socket.on('error', () => undefined);
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  send(...bufs: Buffer[]): void {
    for (const b of bufs) this.socket.write(b);
  }

  /** The next PDU; fails after timeoutMs or when the connection closes first. */
  async recv(timeoutMs = 3000): Promise<Parsed> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.closed) throw new Error('connection closed while waiting for a PDU');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a PDU');
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
    return this.queue.shift()!;
  }

  /** One request answered by a response on the same context: its stub (anything else fails). */
  async call(o: RequestSpec): Promise<Buffer> {
    this.send(request(o));
    const r = await this.recv();
    if (r.ptype !== PT.RESPONSE || r.contextId !== (o.contextId ?? 0)) {
      throw new Error(`call ${o.callId}: ptype ${r.ptype} status ${r.status} context ${r.contextId}, not a response on context ${o.contextId ?? 0}`);
    }
    return r.stub!;
  }

  /** Resolves when no PDU arrives within ms (and the connection is still open). */
  async expectSilence(ms = 200): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.queue.length) throw new Error(`unexpected PDU type ${this.queue[0].ptype}`);
  }

  /** Resolves once the server closed the connection (after any PDUs it sent). */
  async waitClosed(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('server did not close the connection');
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }

  get pending(): number {
    return this.queue.length;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((res) => {
      this.socket.once('close', () => res());
      this.socket.destroy();
    });
  }
}
