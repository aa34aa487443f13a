/**
 * Shared by the hostile-client tests: an in-process witnessd on loopback (demo cluster, dynamic
 * ports, logs captured), a healthy client that must keep being answered, and a raw socket that
 * records whether the server answered with a fault / bind_nak and whether it closed.
 */
import net from 'node:net';
import pino from 'pino';
import { demoConfig, type WitnessdConfig } from '../../src/config';
import { startWitnessd, type Witnessd, type WitnessdOptions } from '../../src/cli/daemon';
import { RpcClient } from '../../src/client/rpc-client';
import { WITNESS_SYNTAX, witnessCalls } from '../../src/client/witness-calls';

export const WITNESS_ADDR = '127.0.0.11';

export interface Running {
  readonly d: Witnessd;
  readonly port: number;
  readonly logs: string[];
}

export async function startHostileTarget(o: Partial<WitnessdOptions> = {}, edit: (c: WitnessdConfig) => WitnessdConfig = (c) => c, level: WitnessdConfig['logging']['level'] = 'info'): Promise<Running> {
  const logs: string[] = [];
  const base = demoConfig();
  const config = edit({ ...base, logging: { level } });
  const logger = pino({ level }, { write: (l: string) => { if (logs.length < 200_000) logs.push(l); } });
  const d = await startWitnessd(config, { epmPort: 0, witnessPort: 0, adminAddress: '127.0.0.1:0', logger, ...o });
  return { d, port: d.witnessEndpoint.port, logs };
}

/** A healthy client: bind, GetInterfaceList; returns the latency in ms (throws when not answered). */
export async function healthyCall(port: number, timeoutMs = 5000, host = WITNESS_ADDR): Promise<number> {
  const t0 = performance.now();
  const c = await RpcClient.connect({ host, port, connectTimeoutMs: timeoutMs });
  try {
    await c.bind(WITNESS_SYNTAX);
    const r = await witnessCalls.getInterfaceList(c, { timeoutMs });
    if (r.result !== 0 || r.interfaces.length === 0) throw new Error(`GetInterfaceList answered ${r.result}`);
    return performance.now() - t0;
  } finally {
    await c.close();
  }
}

export interface Answer { ptype: number; callId: number; status?: number; raw: Buffer }

/** A raw hostile socket: what came back (PDUs) and whether the server closed. */
export class Offender {
  readonly answers: Answer[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 16) {
        const le = (this.buf[4] & 0x10) !== 0;
        const len = le ? this.buf.readUInt16LE(8) : this.buf.readUInt16BE(8);
        if (len < 16 || this.buf.length < len) break;
        const raw = this.buf.subarray(0, len);
        this.buf = this.buf.subarray(len);
        const ptype = raw[2];
        const callId = le ? raw.readUInt32LE(12) : raw.readUInt32BE(12);
        const status = ptype === 3 && raw.length >= 28 ? (le ? raw.readUInt32LE(24) : raw.readUInt32BE(24)) : ptype === 13 ? raw.readUInt16LE(16) : undefined;
        this.answers.push({ ptype, callId, status, raw: Buffer.from(raw) });
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => { this.closed = true; });
  }

  static connect(port: number, host = WITNESS_ADDR): Promise<Offender> {
    return Offender.connectFrom(port, undefined, host);
  }

  /** A connection from a chosen loopback source address (a second "host" on loopback). */
  static connectFrom(port: number, localAddress: string | undefined, host = WITNESS_ADDR): Promise<Offender> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port, localAddress }, () => { s.off('error', reject); resolve(new Offender(s)); });
      s.once('error', reject);
    });
  }

  send(b: Buffer): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(b);
  }

  /** Wait until pred holds or ms passed; returns pred's final value. */
  async until(pred: () => boolean, ms = 5000): Promise<boolean> {
    const end = Date.now() + ms;
    while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return pred();
  }

  waitClosed(ms = 5000): Promise<boolean> {
    return this.until(() => this.closed, ms);
  }

  faults(): Answer[] {
    return this.answers.filter((a) => a.ptype === 3 || a.ptype === 13);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
