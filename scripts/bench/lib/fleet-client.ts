/**
 * The fan-out and memory benchmarks' client process: it holds N connections to one server
 * (witnessd: bind + RegisterEx + a pending AsyncNotify on each; or the raw baseline: idle
 * sockets) and records, on the shared monotonic clock, when each connection received its
 * message. Received PDUs are only checked after the measurement, so checking costs nothing
 * inside the measured window.
 */
import * as net from 'node:net';
import {
  WITNESS_V2, Witness_OPNUMS, Witness_SYNTAX, decodeWitnessrAsyncNotifyOut, decodeWitnessrRegisterExOut,
  encodeWitnessrAsyncNotifyIn, encodeWitnessrRegisterExIn,
} from '../../../src/gen/witness';
import { serve } from './child';
import { monoMs } from './stats';
import { PTYPE_BIND_ACK, PTYPE_RESPONSE, PduSplitter, bindPdu, faultStatus, pduCallId, pduType, requestPdu, responseStub } from './wire';

interface Conn {
  readonly socket: net.Socket;
  nextCallId: number;
  armedCallId: number;
  asyncNotifyStub?: Buffer;
  /** Monotonic ms when the armed message arrived (0 = not yet). */
  at: number;
  msg?: Buffer;
  /** raw mode: bytes received since expect(). */
  bytes: number;
  /** Setup step waiting for a PDU. */
  step?: (pdu: Buffer) => void;
}

const conns: Conn[] = [];
let kind: 'witness' | 'raw' | undefined;
let expecting: { bytes: number; received: number; cpu0: number; lastAt: number; cpuAtLast: number; done?: () => void } | undefined;
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function received(c: Conn, msg: Buffer | undefined): void {
  const e = expecting;
  if (!e || c.at !== 0) return;
  c.at = monoMs();
  c.msg = msg;
  e.received++;
  if (e.received === conns.length) {
    e.lastAt = c.at;
    e.cpuAtLast = cpuNow();
    e.done?.();
  }
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.setNoDelay(true);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect ${host}:${port} timed out`));
    }, 20_000);
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
  });
}

/** Run `fn` for 0..n-1 with at most `concurrency` at once. */
async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

function nextPdu(c: Conn, timeoutMs = 30_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer from the server within 30 s')), timeoutMs);
    c.step = (p) => {
      clearTimeout(timer);
      c.step = undefined;
      resolve(p);
    };
  });
}

interface WitnessSetup {
  readonly host: string;
  readonly port: number;
  readonly n: number;
  readonly netName: string;
  readonly ipAddress: string;
  readonly keepAliveSeconds: number;
  readonly concurrency?: number;
  /** Register only, no AsyncNotify (diagnosis: what a pending call costs the server). */
  readonly noAsyncNotify?: boolean;
}

async function witnessOne(a: WitnessSetup, i: number): Promise<void> {
  const socket = await connect(a.host, a.port);
  const c: Conn = { socket, nextCallId: 1, armedCallId: 0, at: 0, bytes: 0 };
  const splitter = new PduSplitter((pdu) => {
    if (c.step) return c.step(pdu);
    if (pduCallId(pdu) === c.armedCallId) received(c, pdu);
  });
  socket.on('data', (d) => splitter.push(d));
  socket.on('error', () => undefined);
  conns.push(c);
  const ackP = nextPdu(c);
  socket.write(bindPdu(c.nextCallId++, Witness_SYNTAX));
  const ack = await ackP;
  if (pduType(ack) !== PTYPE_BIND_ACK) throw new Error(`bind answered with PDU type ${pduType(ack)}`);
  const stub = encodeWitnessrRegisterExIn({
    Version: WITNESS_V2, NetName: a.netName, ShareName: null, IpAddress: a.ipAddress,
    ClientComputerName: `BENCH-${process.pid}-${i}`, Flags: 0, KeepAliveTimeout: a.keepAliveSeconds,
  });
  const regP = nextPdu(c);
  socket.write(requestPdu(c.nextCallId++, Witness_OPNUMS.WitnessrRegisterEx, stub));
  const reg = await regP;
  if (pduType(reg) !== PTYPE_RESPONSE) throw new Error(`RegisterEx faulted 0x${faultStatus(reg).toString(16)}`);
  const out = decodeWitnessrRegisterExOut(responseStub(reg));
  if (out.ReturnValue !== 0) throw new Error(`RegisterEx returned 0x${out.ReturnValue.toString(16)}`);
  c.asyncNotifyStub = encodeWitnessrAsyncNotifyIn({ pContext: out.ppContext });
  if (!a.noAsyncNotify) arm(c);
}

function arm(c: Conn): void {
  c.armedCallId = c.nextCallId++;
  c.at = 0;
  c.msg = undefined;
  c.socket.write(requestPdu(c.armedCallId, Witness_OPNUMS.WitnessrAsyncNotify, c.asyncNotifyStub as Buffer));
}

async function rawOne(host: string, port: number): Promise<void> {
  const socket = await connect(host, port);
  const c: Conn = { socket, nextCallId: 0, armedCallId: 0, at: 0, bytes: 0 };
  socket.on('data', (d) => {
    c.bytes += d.length;
    if (expecting && c.bytes >= expecting.bytes) received(c, undefined);
  });
  socket.on('error', () => undefined);
  conns.push(c);
}

/** Check what each connection got: RESOURCE_CHANGE with the expected change type. */
function verify(changeType: number | undefined): { bad: number; firstProblem?: string; pduBytes?: number } {
  let bad = 0;
  let firstProblem: string | undefined;
  let pduBytes: number | undefined;
  if (kind !== 'witness') return { bad };
  for (const c of conns) {
    let problem: string | undefined;
    const m = c.msg;
    if (!m) problem = 'nothing received';
    else if (pduType(m) !== PTYPE_RESPONSE) problem = `PDU type ${pduType(m)} (status 0x${faultStatus(m).toString(16)})`;
    else {
      pduBytes ??= m.length;
      try {
        const out = decodeWitnessrAsyncNotifyOut(responseStub(m));
        const resp = out.pResp;
        const msgs = (resp?.Messages ?? []) as Array<{ ChangeType?: number }>;
        if (out.ReturnValue !== 0) problem = `AsyncNotify returned 0x${out.ReturnValue.toString(16)}`;
        else if (resp?.MessageType !== 1) problem = `MessageType ${resp?.MessageType}`;
        else if (changeType !== undefined && msgs[0]?.ChangeType !== changeType) problem = `ChangeType ${msgs[0]?.ChangeType}`;
      } catch (e) {
        problem = `undecodable: ${(e as Error).message}`;
      }
    }
    if (problem) {
      bad++;
      firstProblem ??= problem;
    }
  }
  return { bad, firstProblem, pduBytes };
}

serve(
  {
    /** Adds `n` registered connections (may be called again to add more). */
    'witness-setup': async (a: WitnessSetup) => {
      if (kind === 'raw') throw new Error('already holding raw sockets');
      kind = 'witness';
      const t0 = monoMs();
      const first = conns.length;
      await pool(a.n, a.concurrency ?? 128, (i) => witnessOne(a, first + i));
      return { ms: monoMs() - t0, connections: conns.length };
    },
    'raw-setup': async (a: { host: string; port: number; n: number; concurrency?: number }) => {
      if (kind === 'witness') throw new Error('already holding Witness connections');
      kind = 'raw';
      const t0 = monoMs();
      await pool(a.n, a.concurrency ?? 128, () => rawOne(a.host, a.port));
      return { ms: monoMs() - t0, connections: conns.length };
    },
    /** A new AsyncNotify on every connection (after the previous one was answered). */
    arm: () => {
      for (const c of conns) arm(c);
      return conns.length;
    },
    /** Start recording; `bytes` = message size for raw sockets. */
    expect: (a: { bytes?: number }) => {
      for (const c of conns) {
        if (kind === 'raw') {
          c.at = 0;
          c.bytes = 0;
        }
      }
      expecting = { bytes: a.bytes ?? 1, received: 0, cpu0: cpuNow(), lastAt: 0, cpuAtLast: 0 };
      return true;
    },
    /** Wait (bounded) until every connection received; times are monotonic ms. */
    wait: async (a: { timeoutMs: number; changeType?: number }) => {
      const e = expecting;
      if (!e) throw new Error('expect first');
      if (e.received < conns.length) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, a.timeoutMs);
          e.done = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      expecting = undefined;
      const times = conns.map((c) => c.at);
      const complete = e.received === conns.length;
      return {
        times,
        received: e.received,
        complete,
        clientCpuMs: (complete ? e.cpuAtLast : cpuNow()) - e.cpu0,
        ...verify(a.changeType),
      };
    },
    'close-all': () => {
      for (const c of conns) c.socket.destroy();
      conns.length = 0;
      kind = undefined;
    },
  },
  () => {
    for (const c of conns) c.socket.destroy();
  },
);
