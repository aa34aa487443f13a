/**
 * A raw, authenticated DCE/RPC client for hostile-case tests: it builds bind / alter_context
 * / auth3 / request PDUs with sec_trailers itself (so a test can flip bits, replay, or send
 * legs out of order) and signs with the test NTLMSSP client of test/unit/auth.
 */
import * as net from 'node:net';
import { NDR20, bytesToUuid, uuidToBytes, type Syntax } from '../../../src/client/pdu';
import { TestNtlmClient } from '../../unit/auth/ntlm-test-client';
import { encodeMechTypeList, encodeNegTokenInit, encodeNegTokenResp, parseNegotiationToken, type NegTokenResp, OID } from '../../../src/auth/spnego-token';

export const PT = { REQUEST: 0, RESPONSE: 2, FAULT: 3, BIND: 11, BIND_ACK: 12, BIND_NAK: 13, ALTER: 14, ALTER_RESP: 15, AUTH3: 16 } as const;

export interface RawPdu {
  readonly ptype: number;
  readonly callId: number;
  readonly raw: Buffer;
  readonly authLength: number;
}

function header(ptype: number, flags: number, fragLength: number, authLength: number, callId: number): Buffer {
  const h = Buffer.alloc(16);
  h[0] = 5; h[2] = ptype; h[3] = flags; h[4] = 0x10;
  h.writeUInt16LE(fragLength, 8);
  h.writeUInt16LE(authLength, 10);
  h.writeUInt32LE(callId >>> 0, 12);
  return h;
}

function secTrailer(authType: number, level: number, pad: number, ctxId: number): Buffer {
  const t = Buffer.alloc(8);
  t[0] = authType; t[1] = level; t[2] = pad;
  t.writeUInt32LE(ctxId >>> 0, 4);
  return t;
}

/** bind (11) or alter_context (14) with one presentation context and an auth verifier. */
export function buildBindWithAuth(ptype: number, callId: number, abstract: Syntax, authType: number, level: number, ctxId: number, token: Buffer, flags = 0x03): Buffer {
  const body = Buffer.alloc(12 + 44);
  body.writeUInt16LE(4280, 0);
  body.writeUInt16LE(4280, 2);
  body[8] = 1;
  body[14] = 1;
  uuidToBytes(abstract.uuid).copy(body, 16);
  body.writeUInt16LE(abstract.major, 32);
  body.writeUInt16LE(abstract.minor, 34);
  uuidToBytes(NDR20.uuid).copy(body, 36);
  body.writeUInt32LE(2, 52);
  const len = 16 + body.length + 8 + token.length;
  return Buffer.concat([header(ptype, flags, len, token.length, callId), body, secTrailer(authType, level, 0, ctxId), token]);
}

export function buildAuth3(callId: number, authType: number, level: number, ctxId: number, token: Buffer): Buffer {
  const len = 16 + 4 + 8 + token.length;
  return Buffer.concat([header(PT.AUTH3, 0x03, len, token.length, callId), Buffer.alloc(4), secTrailer(authType, level, 0, ctxId), token]);
}

export interface Signer {
  signPdu(pdu: Uint8Array, seal: boolean, start?: number, end?: number): Buffer;
  verifyPdu(pdu: Uint8Array, sig: Uint8Array, seal: boolean, start?: number, end?: number): boolean;
}

/** One-fragment request, protected at `level` (5 sign, 6 seal) by `send`. */
export function buildProtectedRequest(callId: number, opnum: number, stub: Buffer, authType: number, level: number, ctxId: number, send: Signer): Buffer {
  const pad = (16 - (stub.length % 16)) % 16;
  const stubEnd = 24 + stub.length + pad;
  const len = stubEnd + 8 + 16;
  const pdu = Buffer.alloc(len);
  header(PT.REQUEST, 0x03, len, 16, callId).copy(pdu);
  pdu.writeUInt32LE(stub.length, 16);
  pdu.writeUInt16LE(0, 20);
  pdu.writeUInt16LE(opnum, 22);
  stub.copy(pdu, 24);
  secTrailer(authType, level, pad, ctxId).copy(pdu, stubEnd);
  const sig = send.signPdu(pdu.subarray(0, stubEnd + 8), level === 6, 24, stubEnd);
  sig.copy(pdu, stubEnd + 8);
  return pdu;
}

/** Check and open a one-fragment protected response; returns the stub (auth padding removed). */
export function openProtectedResponse(p: RawPdu, level: number, recv: Signer): Buffer {
  const raw = Buffer.from(p.raw);
  const sigAt = raw.length - p.authLength;
  const st = sigAt - 8;
  const pad = raw[st + 2];
  if (!recv.verifyPdu(raw.subarray(0, sigAt), raw.subarray(sigAt), level === 6, 24, st)) throw new Error('response signature does not verify');
  return raw.subarray(24, st - pad);
}

export function authToken(p: RawPdu): Buffer {
  return p.raw.subarray(p.raw.length - p.authLength);
}

/** A socket that yields whole PDUs, with a bounded wait. */
export class RawConnection {
  private buf = Buffer.alloc(0);
  private queue: RawPdu[] = [];
  private waiters: ((p: RawPdu | undefined) => void)[] = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 16) {
        const len = this.buf.readUInt16LE(8);
        if (len < 16 || this.buf.length < len) break;
        const raw = this.buf.subarray(0, len);
        this.buf = this.buf.subarray(len);
        const p = { ptype: raw[2], callId: raw.readUInt32LE(12), raw: Buffer.from(raw), authLength: raw.readUInt16LE(10) };
        const w = this.waiters.shift();
        if (w) w(p);
        else this.queue.push(p);
      }
    });
    const end = () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    };
    socket.on('close', end);
    socket.on('error', end);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port }, () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }

  send(b: Buffer): void {
    this.socket.write(b);
  }

  /** The next PDU, or undefined if the server closed the connection (or nothing within ms). */
  next(ms = 10_000): Promise<RawPdu | undefined> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(undefined);
      }, ms);
      const done = (p: RawPdu | undefined) => { clearTimeout(t); resolve(p); };
      this.waiters.push(done);
    });
  }

  /** Resolves true once the server has closed the connection (within ms). */
  waitClosed(ms = 10_000): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      this.socket.once('close', () => { clearTimeout(t); resolve(true); });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface Session {
  conn: RawConnection;
  ntlm: TestNtlmClient;
  authType: number;
  level: number;
  ctxId: number;
  callId: number;
}

/** NTLMSSP (type 10): bind(NEGOTIATE) → bind_ack(CHALLENGE) → auth3(AUTHENTICATE). */
export async function ntlmsspSession(conn: RawConnection, abstract: Syntax, level: number, user: string, password: string, ctxId = 1, domain = 'TESTDOM'): Promise<Session> {
  const ntlm = new TestNtlmClient({ user, domain, password, withMic: true, flags: 0x62088215 | (level === 6 ? 0x20 : 0) });
  conn.send(buildBindWithAuth(PT.BIND, 1, abstract, 10, level, ctxId, ntlm.negotiate()));
  const ack = await conn.next();
  if (!ack || ack.ptype !== PT.BIND_ACK) throw new Error(`bind failed: ${ack ? `ptype ${ack.ptype}` : 'closed'}`);
  conn.send(buildAuth3(1, 10, level, ctxId, ntlm.authenticate(authToken(ack))));
  return { conn, ntlm, authType: 10, level, ctxId, callId: 2 };
}

/** SPNEGO (type 9): bind(NegTokenInit+NEGOTIATE) → ack(CHALLENGE) → alter(AUTHENTICATE+MIC) → alter_resp(MIC). */
export async function spnegoSession(conn: RawConnection, abstract: Syntax, level: number, user: string, password: string, ctxId = 1): Promise<Session> {
  const ntlm = new TestNtlmClient({ user, domain: 'TESTDOM', password, withMic: true, flags: 0x62088215 | (level === 6 ? 0x20 : 0) });
  conn.send(buildBindWithAuth(PT.BIND, 1, abstract, 9, level, ctxId, encodeNegTokenInit([OID.NTLMSSP], ntlm.negotiate())));
  const ack = await conn.next();
  if (!ack || ack.ptype !== PT.BIND_ACK) throw new Error(`bind failed: ${ack ? `ptype ${ack.ptype}` : 'closed'}`);
  const t1 = parseNegotiationToken(authToken(ack)) as NegTokenResp;
  const auth = ntlm.authenticate(t1.responseToken!);
  const mechTypes = encodeMechTypeList([OID.NTLMSSP]);
  const mic = ntlm.send.signPdu(Buffer.from(mechTypes), false);
  conn.send(buildBindWithAuth(PT.ALTER, 2, abstract, 9, level, ctxId, encodeNegTokenResp({ responseToken: auth, mechListMIC: mic })));
  const resp = await conn.next();
  if (!resp || resp.ptype !== PT.ALTER_RESP) throw new Error(`alter_context failed: ${resp ? `ptype ${resp.ptype}` : 'closed'}`);
  const t2 = parseNegotiationToken(authToken(resp)) as NegTokenResp;
  if (!ntlm.recv.verifyPdu(Buffer.from(mechTypes), t2.mechListMIC!, false)) throw new Error('server mechListMIC does not verify');
  ntlm.send.resetRc4();
  ntlm.recv.resetRc4();
  return { conn, ntlm, authType: 9, level, ctxId, callId: 3 };
}

export async function call(s: Session, opnum: number, stub: Buffer): Promise<{ stub?: Buffer; fault?: number; closed?: boolean }> {
  s.conn.send(buildProtectedRequest(s.callId++, opnum, stub, s.authType, s.level, s.ctxId, s.ntlm.send));
  const p = await s.conn.next();
  if (!p) return { closed: true };
  if (p.ptype === PT.FAULT) return { fault: p.raw.readUInt32LE(24) };
  if (p.ptype !== PT.RESPONSE) throw new Error(`unexpected ptype ${p.ptype}`);
  return { stub: openProtectedResponse(p, s.level, s.ntlm.recv) };
}

export { bytesToUuid };
