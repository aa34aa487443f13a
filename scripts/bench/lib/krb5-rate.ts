/**
 * connect + Kerberos bind (auth type 16, integrity: AP-REQ in bind, AP-REP in bind_ack, the
 * client's AP-REP in auth3) + one signed ept_map + close, one connection after the other, as
 * fast as the server answers. The same client for witnessd and for Samba's endpoint mapper.
 */
import * as net from 'node:net';
import { encodeEpt_mapIn, Epm_SYNTAX } from '../../../src/gen/epm';
import { encodeFloors, syntaxFloor } from '../../../src/rpc/epm/tower';
import { writeGuid } from '../../../src/ndr/guid';
import { KrbInitiatorContext, type Credential } from './krb5-initiator';

const NDR = { uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', major: 2, minor: 0 };
const AUTH_KRB5 = 16;
const LEVEL_INTEGRITY = 5;
const CTX_ID = 1;
/** FIRST | LAST, and in bind PDUs SUPPORT_HEADER_SIGN (0x04, which in a request would mean PENDING_CANCEL). */
const PFC_FIRST_LAST = 0x03;
const PFC_SUPPORT_HEADER_SIGN = 0x04;

function header(ptype: number, fragLen: number, authLen: number, callId: number): Buffer {
  const h = Buffer.alloc(16);
  h.set([5, 0, ptype, ptype === 11 ? PFC_FIRST_LAST | PFC_SUPPORT_HEADER_SIGN : PFC_FIRST_LAST, 0x10, 0, 0, 0]);
  h.writeUInt16LE(fragLen, 8);
  h.writeUInt16LE(authLen, 10);
  h.writeUInt32LE(callId, 12);
  return h;
}

function trailer(pad: number): Buffer {
  const t = Buffer.from([AUTH_KRB5, LEVEL_INTEGRITY, pad, 0, 0, 0, 0, 0]);
  t.writeUInt32LE(CTX_ID, 4);
  return t;
}

function bindPdu(token: Buffer): Buffer {
  const body = Buffer.alloc(8 + 4 + 4 + 20 + 20);
  body.writeUInt16LE(5840, 0);
  body.writeUInt16LE(5840, 2);
  body.writeUInt8(1, 8);
  body.writeUInt8(1, 14);
  writeGuid(body, 16, Epm_SYNTAX.uuid, true, 16);
  body.writeUInt32LE(Epm_SYNTAX.major | (Epm_SYNTAX.minor << 16), 32);
  writeGuid(body, 36, NDR.uuid, true, 36);
  body.writeUInt32LE(NDR.major, 52);
  return Buffer.concat([header(11, 16 + body.length + 8 + token.length, token.length, 1), body, trailer(0), token]);
}

function auth3Pdu(token: Buffer): Buffer {
  return Buffer.concat([header(16, 16 + 4 + 8 + token.length, token.length, 1), Buffer.alloc(4), trailer(0), token]);
}

const MAP_STUB = (() => {
  const tower = encodeFloors([
    syntaxFloor(Epm_SYNTAX), syntaxFloor(NDR),
    { lhs: Buffer.from([0x0b]), rhs: Buffer.from([0, 0]) },
    { lhs: Buffer.from([0x07]), rhs: Buffer.from([0, 135]) },
    { lhs: Buffer.from([0x09]), rhs: Buffer.from([127, 0, 0, 1]) },
  ]);
  return encodeEpt_mapIn({ object: null, map_tower: { tower_length: tower.length, tower_octet_string: tower }, entry_handle: { attributes: 0, uuid: '00000000-0000-0000-0000-000000000000' }, max_towers: 1 });
})();

/** ept_map request with a MIC verifier over header + body + sec_trailer (header signing). */
function signedMapPdu(ctx: KrbInitiatorContext): Buffer {
  const pad = (16 - (MAP_STUB.length % 16)) % 16;
  const stubEnd = 24 + MAP_STUB.length + pad;
  const len = stubEnd + 8 + ctx.micLength;
  const pdu = Buffer.alloc(len);
  header(0, len, ctx.micLength, 2).copy(pdu);
  pdu.writeUInt32LE(MAP_STUB.length, 16);
  pdu.writeUInt16LE(3, 22); // opnum 3: ept_map
  MAP_STUB.copy(pdu, 24);
  trailer(pad).copy(pdu, stubEnd);
  ctx.mic(pdu.subarray(0, stubEnd + 8)).copy(pdu, stubEnd + 8);
  return pdu;
}

/** A socket yielding whole PDUs. */
class Pdus {
  private buf = Buffer.alloc(0);
  private want: ((p: Buffer) => void) | undefined;
  private failed: ((e: Error) => void) | undefined;
  constructor(readonly s: net.Socket) {
    s.on('data', (d) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.deliver();
    });
    const fail = (e?: Error) => this.failed?.(e ?? new Error('connection closed'));
    s.on('error', fail);
    s.on('close', () => fail());
  }
  private deliver(): void {
    if (!this.want || this.buf.length < 16 || this.buf.length < this.buf.readUInt16LE(8)) return;
    const len = this.buf.readUInt16LE(8);
    const p = this.buf.subarray(0, len);
    this.buf = this.buf.subarray(len);
    const w = this.want;
    this.want = undefined;
    w(p);
  }
  next(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.want = resolve;
      this.failed = reject;
      this.deliver();
    });
  }
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port }, () => resolve(s));
    s.setNoDelay(true);
    s.once('error', reject);
  });
}

/** One connection: bind with Kerberos, auth3, one signed ept_map, close. Throws on anything unexpected. */
export async function kerberosBindAndCall(host: string, port: number, cred: Credential): Promise<void> {
  const s = await connect(host, port);
  const pdus = new Pdus(s);
  try {
    const ctx = new KrbInitiatorContext(cred);
    s.write(bindPdu(ctx.apReq()));
    const ack = await pdus.next();
    if (ack[2] !== 12) throw new Error(`bind answered with ptype ${ack[2]}${ack[2] === 13 ? ` (bind_nak reason ${ack.readUInt16LE(16)})` : ''}`);
    if (!(ack[3] & PFC_SUPPORT_HEADER_SIGN)) throw new Error('the server did not negotiate header signing');
    const authLen = ack.readUInt16LE(10);
    s.write(auth3Pdu(ctx.apRep(ack.subarray(ack.length - authLen))));
    s.write(signedMapPdu(ctx));
    const resp = await pdus.next();
    if (resp[2] !== 2) throw new Error(`ept_map answered with ptype ${resp[2]}${resp[2] === 3 ? ` (fault 0x${resp.readUInt32LE(24).toString(16)})` : ''}`);
  } finally {
    s.destroy();
  }
}

export interface KrbRate {
  readonly perSecond: number;
  readonly clientCpuPct: number;
  readonly count: number;
}

/** Sequential connections for `durationMs`. */
export async function kerberosRate(host: string, port: number, cred: Credential, durationMs: number): Promise<KrbRate> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let count = 0;
  while (performance.now() - t0 < durationMs) {
    await kerberosBindAndCall(host, port, cred);
    count++;
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: (count * 1000) / ms, clientCpuPct: ((cpu.user + cpu.system) / 1000 / ms) * 100, count };
}
