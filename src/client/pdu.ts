/**
 * The client side of connection-oriented DCE/RPC (C706 ch. 12): just enough PDUs to bind
 * anonymously with NDR 2.0 and make requests. Deliberately independent of src/rpc (it is
 * the other side of the wire, and tests use it to check the server).
 */

export const PTYPE = {
  REQUEST: 0,
  RESPONSE: 2,
  FAULT: 3,
  BIND: 11,
  BIND_ACK: 12,
  BIND_NAK: 13,
  SHUTDOWN: 17,
  CO_CANCEL: 18,
  ORPHANED: 19,
} as const;

export const PFC_FIRST_FRAG = 0x01;
export const PFC_LAST_FRAG = 0x02;

export interface Syntax {
  readonly uuid: string;
  readonly major: number;
  readonly minor: number;
}

export const NDR20: Syntax = { uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', major: 2, minor: 0 };

const HEADER = 16;

/** GUID text → 16 bytes in DCE order (Data1..3 little-endian, Data4 as is). */
export function uuidToBytes(uuid: string): Buffer {
  const hex = uuid.replace(/[{}-]/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`bad UUID '${uuid}'`);
  const b = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  out.writeUInt32LE(b.readUInt32BE(0), 0);
  out.writeUInt16LE(b.readUInt16BE(4), 4);
  out.writeUInt16LE(b.readUInt16BE(6), 6);
  b.copy(out, 8, 8, 16);
  return out;
}

export function bytesToUuid(b: Buffer, off = 0): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  const d4 = b.subarray(off + 8, off + 16).toString('hex');
  return `${h(b.readUInt32LE(off), 8)}-${h(b.readUInt16LE(off + 4), 4)}-${h(b.readUInt16LE(off + 6), 4)}-${d4.slice(0, 4)}-${d4.slice(4)}`;
}

function header(ptype: number, flags: number, fragLength: number, callId: number): Buffer {
  const h = Buffer.alloc(HEADER);
  h[0] = 5;
  h[1] = 0;
  h[2] = ptype;
  h[3] = flags;
  h[4] = 0x10; // little-endian integers, ASCII, IEEE floats
  h.writeUInt16LE(fragLength, 8);
  h.writeUInt16LE(0, 10);
  h.writeUInt32LE(callId >>> 0, 12);
  return h;
}

export function buildBind(callId: number, abstract: Syntax, maxFrag: number, assocGroupId = 0, contextId = 0): Buffer {
  const body = Buffer.alloc(12 + 44);
  body.writeUInt16LE(maxFrag, 0);
  body.writeUInt16LE(maxFrag, 2);
  body.writeUInt32LE(assocGroupId >>> 0, 4);
  body[8] = 1; // one presentation context
  body.writeUInt16LE(contextId, 12);
  body[14] = 1; // one transfer syntax
  uuidToBytes(abstract.uuid).copy(body, 16);
  body.writeUInt16LE(abstract.major, 32);
  body.writeUInt16LE(abstract.minor, 34);
  uuidToBytes(NDR20.uuid).copy(body, 36);
  body.writeUInt32LE(NDR20.major, 52);
  return Buffer.concat([header(PTYPE.BIND, PFC_FIRST_FRAG | PFC_LAST_FRAG, HEADER + body.length, callId), body]);
}

/** Request fragments for one call, each no longer than maxFrag. */
export function buildRequest(callId: number, contextId: number, opnum: number, stub: Buffer, maxFrag: number): Buffer[] {
  const room = Math.max(8, (maxFrag - 24) & ~7);
  const out: Buffer[] = [];
  let off = 0;
  do {
    const chunk = stub.subarray(off, off + room);
    let flags = 0;
    if (off === 0) flags |= PFC_FIRST_FRAG;
    if (off + chunk.length >= stub.length) flags |= PFC_LAST_FRAG;
    const h = header(PTYPE.REQUEST, flags, 24 + chunk.length, callId);
    const r = Buffer.alloc(8);
    r.writeUInt32LE(stub.length - off, 0);
    r.writeUInt16LE(contextId, 4);
    r.writeUInt16LE(opnum, 6);
    out.push(Buffer.concat([h, r, chunk]));
    off += chunk.length;
  } while (off < stub.length);
  return out;
}

export function buildSimple(ptype: number, callId: number): Buffer {
  return header(ptype, PFC_FIRST_FRAG | PFC_LAST_FRAG, HEADER, callId);
}

export interface Pdu {
  readonly ptype: number;
  readonly flags: number;
  readonly littleEndian: boolean;
  readonly callId: number;
  /** The whole fragment. */
  readonly raw: Buffer;
}

/**
 * Cut complete fragments off the front of `buf`. Returns the PDUs and the unconsumed rest.
 * Throws on a header that cannot be DCE/RPC CO.
 */
export function splitPdus(buf: Buffer, maxFrag: number): { pdus: Pdu[]; rest: Buffer } {
  const pdus: Pdu[] = [];
  let off = 0;
  while (buf.length - off >= HEADER) {
    if (buf[off] !== 5 || buf[off + 1] !== 0) throw new Error(`not DCE/RPC 5.0 (version ${buf[off]}.${buf[off + 1]})`);
    const le = (buf[off + 4] & 0x10) !== 0;
    const fragLength = le ? buf.readUInt16LE(off + 8) : buf.readUInt16BE(off + 8);
    if (fragLength < HEADER || fragLength > maxFrag) throw new Error(`bad frag_length ${fragLength}`);
    if (buf.length - off < fragLength) break;
    const raw = buf.subarray(off, off + fragLength);
    pdus.push({
      ptype: raw[2],
      flags: raw[3],
      littleEndian: le,
      callId: le ? raw.readUInt32LE(12) : raw.readUInt32BE(12),
      raw,
    });
    off += fragLength;
  }
  return { pdus, rest: buf.subarray(off) };
}

const u16 = (p: Pdu, o: number) => (p.littleEndian ? p.raw.readUInt16LE(o) : p.raw.readUInt16BE(o));
const u32 = (p: Pdu, o: number) => (p.littleEndian ? p.raw.readUInt32LE(o) : p.raw.readUInt32BE(o));

export interface BindAck {
  readonly maxXmit: number;
  readonly maxRecv: number;
  readonly assocGroupId: number;
  readonly secondaryAddress: string;
  readonly results: ReadonlyArray<{ result: number; reason: number }>;
}

export function parseBindAck(p: Pdu): BindAck {
  const maxXmit = u16(p, 16);
  const maxRecv = u16(p, 18);
  const assocGroupId = u32(p, 20);
  const secLen = u16(p, 24);
  const secondaryAddress = p.raw.subarray(26, 26 + Math.max(0, secLen - 1)).toString('latin1');
  let off = 26 + secLen;
  off = (off + 3) & ~3;
  const n = p.raw[off];
  off += 4;
  const results: Array<{ result: number; reason: number }> = [];
  for (let i = 0; i < n && off + 24 <= p.raw.length; i++, off += 24) results.push({ result: u16(p, off), reason: u16(p, off + 2) });
  return { maxXmit, maxRecv, assocGroupId, secondaryAddress, results };
}

export function parseBindNakReason(p: Pdu): number {
  return p.raw.length >= 18 ? u16(p, 16) : 0;
}

/** Stub bytes of a response fragment (auth verifiers are not used by this client). */
export function responseStub(p: Pdu): Buffer {
  return p.raw.subarray(24, p.raw.length - (u16(p, 10) ? u16(p, 10) + 8 : 0));
}

export function faultStatus(p: Pdu): number {
  return p.raw.length >= 28 ? u32(p, 24) : 0;
}
