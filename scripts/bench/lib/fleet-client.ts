/**
 * The fan-out and memory benchmarks' client process: it holds N connections to one server
 * (witnessd: bind + RegisterEx + a pending AsyncNotify on each; or the raw baseline: idle
 * sockets) and records, on the shared monotonic clock, when each connection received its
 * message. Received PDUs are only checked after the measurement, so checking costs nothing
 * inside the measured window. Witness connections bind unauthenticated, or at packet privacy
 * with NTLMSSP (auth type 10) or Kerberos (auth type 16, DCE style, a ticket minted with the
 * benchmark's keytab key: lib/krb5-initiator.ts); protected answers are opened after the window.
 */
import * as net from 'node:net';
import {
  WITNESS_V2, Witness_OPNUMS, Witness_SYNTAX, decodeWitnessrAsyncNotifyOut, decodeWitnessrRegisterExOut,
  encodeWitnessrAsyncNotifyIn, encodeWitnessrRegisterExIn,
} from '../../../src/gen/witness';
import { EncType } from '../../../src/auth/krb5/enctypes';
import { PT, buildAuth3, buildBindWithAuth } from '../../../test/integration/auth/raw-auth-client';
import { TestNtlmClient } from '../../../test/unit/auth/ntlm-test-client';
import { serve } from './child';
import { KrbInitiatorContext, mintCredential, type Credential } from './krb5-initiator';
import { monoMs } from './stats';
import { PTYPE_BIND_ACK, PTYPE_RESPONSE, PduSplitter, bindPdu, faultStatus, pduCallId, pduType, requestPdu, responseStub } from './wire';

/** Packet privacy on one connection: seal a request in place (returns the verifier), open a response in place. */
interface Protection {
  readonly authType: number;
  readonly verifierLength: number;
  seal(pdu: Buffer, stubStart: number, stubEnd: number): Buffer;
  open(pdu: Buffer, stubStart: number, stubEnd: number, verifier: Buffer): void;
}

const LEVEL_PRIVACY = 6;
const AUTH_CTX_ID = 1;
/** PFC_FIRST_FRAG | PFC_LAST_FRAG | PFC_SUPPORT_HEADER_SIGN (in a bind). */
const BIND_FLAGS_HEADER_SIGN = 0x07;

/** How the benchmark's Witness connections authenticate. */
export type FleetAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'ntlmssp'; readonly domain: string; readonly user: string; readonly password: string }
  | { readonly kind: 'kerberos'; readonly keyHex: string; readonly kvno: number; readonly sname: readonly string[]; readonly realm: string };

interface Conn {
  readonly socket: net.Socket;
  protection?: Protection;
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
  readonly auth?: FleetAuth;
}

/** One ticket for every Kerberos connection of this process (each gets its own authenticator). */
let krbCred: Credential | undefined;

function protectedRequest(callId: number, opnum: number, stub: Buffer, p: Protection): Buffer {
  const pad = (16 - (stub.length % 16)) % 16;
  const stubEnd = 24 + stub.length + pad;
  const len = stubEnd + 8 + p.verifierLength;
  const pdu = Buffer.alloc(len);
  pdu.set([5, 0, PT.REQUEST, 0x03, 0x10, 0, 0, 0]);
  pdu.writeUInt16LE(len, 8);
  pdu.writeUInt16LE(p.verifierLength, 10);
  pdu.writeUInt32LE(callId >>> 0, 12);
  pdu.writeUInt32LE(stub.length, 16);
  pdu.writeUInt16LE(opnum, 22);
  stub.copy(pdu, 24);
  pdu.set([p.authType, LEVEL_PRIVACY, pad, 0], stubEnd);
  pdu.writeUInt32LE(AUTH_CTX_ID, stubEnd + 4);
  p.seal(pdu.subarray(0, stubEnd + 8), 24, stubEnd).copy(pdu, stubEnd + 8);
  return pdu;
}

/** The stub of a protected response, opened in place (auth padding removed); a fault is returned as it is. */
function openResponse(pdu: Buffer, p: Protection | undefined): Buffer {
  if (!p || pduType(pdu) !== PTYPE_RESPONSE) return responseStub(pdu);
  const authLen = pdu.readUInt16LE(10);
  const st = pdu.length - authLen - 8;
  p.open(pdu.subarray(0, st + 8), 24, st, pdu.subarray(st + 8));
  return pdu.subarray(24, st - pdu[st + 2]);
}

/** Bind with `auth` (three legs: bind, bind_ack, auth3) and return the connection's protection. */
async function authenticatedBind(c: Conn, auth: Exclude<FleetAuth, { kind: 'none' }>): Promise<Protection> {
  if (auth.kind === 'ntlmssp') {
    const ntlm = new TestNtlmClient({ user: auth.user, domain: auth.domain, password: auth.password, withMic: true, flags: 0x62088215 | 0x20 });
    const ackP = nextPdu(c);
    c.socket.write(buildBindWithAuth(PT.BIND, c.nextCallId, Witness_SYNTAX, 10, LEVEL_PRIVACY, AUTH_CTX_ID, ntlm.negotiate()));
    const ack = await ackP;
    if (pduType(ack) !== PTYPE_BIND_ACK) throw new Error(`NTLMSSP bind answered with PDU type ${pduType(ack)}`);
    c.socket.write(buildAuth3(c.nextCallId++, 10, LEVEL_PRIVACY, AUTH_CTX_ID, ntlm.authenticate(ack.subarray(ack.length - ack.readUInt16LE(10)))));
    return {
      authType: 10, verifierLength: 16,
      seal: (pdu, a, b) => ntlm.send.signPdu(pdu, true, a, b),
      open: (pdu, a, b, v) => {
        if (!ntlm.recv.verifyPdu(pdu, v, true, a, b)) throw new Error('NTLMSSP: response does not verify');
      },
    };
  }
  krbCred ??= mintCredential({
    serviceKey: Buffer.from(auth.keyHex, 'hex'), enctype: EncType.AES256_CTS_HMAC_SHA1_96, kvno: auth.kvno, sname: auth.sname, realm: auth.realm, client: 'bench',
  });
  const krb = new KrbInitiatorContext(krbCred, { confidentiality: true });
  const ackP = nextPdu(c);
  c.socket.write(buildBindWithAuth(PT.BIND, c.nextCallId, Witness_SYNTAX, 16, LEVEL_PRIVACY, AUTH_CTX_ID, krb.apReq(), BIND_FLAGS_HEADER_SIGN));
  const ack = await ackP;
  if (pduType(ack) !== PTYPE_BIND_ACK) {
    throw new Error(`Kerberos bind answered with PDU type ${pduType(ack)}${pduType(ack) === 13 ? ` (bind_nak reason ${ack.readUInt16LE(16)})` : ''}`);
  }
  if (!(ack[3] & 0x04)) throw new Error('the server did not negotiate header signing');
  const apRep = ack.subarray(ack.length - ack.readUInt16LE(10));
  c.socket.write(buildAuth3(c.nextCallId++, 16, LEVEL_PRIVACY, AUTH_CTX_ID, krb.apRep(apRep)));
  const cfx = krb.protection;
  return {
    authType: 16, verifierLength: krb.wrapLength,
    seal: (pdu, a, b) => cfx.sealPdu(pdu, a, b),
    open: (pdu, a, b, v) => cfx.unsealPdu(pdu, a, b, v),
  };
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
  if (a.auth && a.auth.kind !== 'none') c.protection = await authenticatedBind(c, a.auth);
  else {
    const ackP = nextPdu(c);
    socket.write(bindPdu(c.nextCallId++, Witness_SYNTAX));
    const ack = await ackP;
    if (pduType(ack) !== PTYPE_BIND_ACK) throw new Error(`bind answered with PDU type ${pduType(ack)}`);
  }
  const stub = encodeWitnessrRegisterExIn({
    Version: WITNESS_V2, NetName: a.netName, ShareName: null, IpAddress: a.ipAddress,
    ClientComputerName: `BENCH-${process.pid}-${i}`, Flags: 0, KeepAliveTimeout: a.keepAliveSeconds,
  });
  const regP = nextPdu(c);
  socket.write(request(c, c.nextCallId++, Witness_OPNUMS.WitnessrRegisterEx, stub));
  const reg = await regP;
  if (pduType(reg) !== PTYPE_RESPONSE) throw new Error(`RegisterEx faulted 0x${faultStatus(reg).toString(16)}`);
  const out = decodeWitnessrRegisterExOut(openResponse(Buffer.from(reg), c.protection));
  if (out.ReturnValue !== 0) throw new Error(`RegisterEx returned 0x${out.ReturnValue.toString(16)}`);
  c.asyncNotifyStub = encodeWitnessrAsyncNotifyIn({ pContext: out.ppContext });
  if (!a.noAsyncNotify) arm(c);
}

function request(c: Conn, callId: number, opnum: number, stub: Buffer): Buffer {
  return c.protection ? protectedRequest(callId, opnum, stub, c.protection) : requestPdu(callId, opnum, stub);
}

function arm(c: Conn): void {
  c.armedCallId = c.nextCallId++;
  c.at = 0;
  c.msg = undefined;
  c.socket.write(request(c, c.armedCallId, Witness_OPNUMS.WitnessrAsyncNotify, c.asyncNotifyStub as Buffer));
}

/** A bind's and an AsyncNotify request's sizes, for the primed baseline (server-host.ts raw-listen). */
const PRIMING_FIRST = Buffer.alloc(72, 0x5a);
const PRIMING_PENDING = Buffer.alloc(48, 0x5a);

async function rawOne(host: string, port: number, primed = false): Promise<void> {
  const socket = await connect(host, port);
  const c: Conn = { socket, nextCallId: 0, armedCallId: 0, at: 0, bytes: 0 };
  let answered: (() => void) | undefined;
  socket.on('data', (d) => {
    if (answered) {
      answered();
      answered = undefined;
      return;
    }
    c.bytes += d.length;
    if (expecting && c.bytes >= expecting.bytes) received(c, undefined);
  });
  socket.on('error', () => undefined);
  conns.push(c);
  if (primed) {
    await new Promise<void>((resolve) => {
      answered = resolve;
      socket.write(PRIMING_FIRST);
    });
    socket.write(PRIMING_PENDING);
  }
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
        const out = decodeWitnessrAsyncNotifyOut(openResponse(m, c.protection));
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
    'raw-setup': async (a: { host: string; port: number; n: number; concurrency?: number; primed?: boolean }) => {
      if (kind === 'witness') throw new Error('already holding Witness connections');
      kind = 'raw';
      const t0 = monoMs();
      await pool(a.n, a.concurrency ?? 128, () => rawOne(a.host, a.port, a.primed));
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
