/**
 * Test-side PDU writer and reader, independent from src/rpc/pdu.ts (so that a bug there does
 * not hide itself): what a client sends, and a parser for what the server answers.
 */
import type { SyntaxId } from '../../../../src/ndr/dispatch';

export const NDR: SyntaxId = { uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', major: 2, minor: 0 };
export const NDR64: SyntaxId = { uuid: '71710533-beba-4937-8319-b5dbef9ccc36', major: 1, minor: 0 };
/** Bind-time feature negotiation with features 0x0003. */
export const BTFN3: SyntaxId = { uuid: '6cb71c2c-9812-4540-0300-000000000000', major: 1, minor: 0 };

export const PT = { REQUEST: 0, RESPONSE: 2, FAULT: 3, BIND: 11, BIND_ACK: 12, BIND_NAK: 13, ALTER: 14, ALTER_RESP: 15, AUTH3: 16, SHUTDOWN: 17, CO_CANCEL: 18, ORPHANED: 19 };
export const FIRST = 1;
export const LAST = 2;
export const HDR_SIGN = 4;
export const CONC_MPX = 0x10;
export const DID_NOT_EXECUTE = 0x20;
export const MAYBE = 0x40;
export const OBJECT_UUID = 0x80;

class W {
  private parts: number[] = [];
  constructor(readonly le: boolean) {}
  u8(v: number) { this.parts.push(v & 0xff); return this; }
  u16(v: number) { return this.le ? this.u8(v).u8(v >> 8) : this.u8(v >> 8).u8(v); }
  u32(v: number) { return this.le ? this.u16(v & 0xffff).u16(v >>> 16) : this.u16(v >>> 16).u16(v & 0xffff); }
  bytes(b: Buffer | number[]) { for (const x of b) this.parts.push(x); return this; }
  uuid(u: string) {
    const h = u.replace(/-/g, '');
    this.u32(parseInt(h.slice(0, 8), 16)).u16(parseInt(h.slice(8, 12), 16)).u16(parseInt(h.slice(12, 16), 16));
    return this.bytes(Buffer.from(h.slice(16), 'hex'));
  }
  /** p_syntax_id_t: if_version is one u32 (major in the low half), so byte order matters. */
  syntax(s: SyntaxId) { return this.uuid(s.uuid).u32(((s.minor << 16) | s.major) >>> 0); }
  pad(n: number) { while (this.parts.length % n) this.parts.push(0); return this; }
  get length() { return this.parts.length; }
  buf() { return Buffer.from(this.parts); }
}

export interface AuthSpec {
  type: number;
  level: number;
  contextId: number;
  token: Buffer;
  padLength?: number;
  /** Bytes between the body and the trailer that auth_pad_length does not count (0xfb each). */
  gap?: number;
}

function header(w: W, ptype: number, flags: number, callId: number, authLength = 0, fragLength = 0) {
  w.u8(5).u8(0).u8(ptype).u8(flags).u8(w.le ? 0x10 : 0).u8(0).u8(0).u8(0).u16(fragLength).u16(authLength).u32(callId);
}

function finish(w: W, authLength: number): Buffer {
  const b = w.buf();
  if (w.le) { b.writeUInt16LE(b.length, 8); b.writeUInt16LE(authLength, 10); } else { b.writeUInt16BE(b.length, 8); b.writeUInt16BE(authLength, 10); }
  return b;
}

function trailer(w: W, a: AuthSpec) {
  for (let i = 0; i < (a.gap ?? 0); i++) w.u8(0xfb);
  for (let i = 0; i < (a.padLength ?? 0); i++) w.u8(0);
  w.u8(a.type).u8(a.level).u8(a.padLength ?? 0).u8(0).u32(a.contextId).bytes(a.token);
}

export interface CtxSpec { id: number; abstract: SyntaxId; transfers: SyntaxId[] }

export function bind(o: {
  callId?: number; le?: boolean; flags?: number; ptype?: number; maxXmit?: number; maxRecv?: number; assocGroup?: number;
  contexts: CtxSpec[]; auth?: AuthSpec;
}): Buffer {
  const w = new W(o.le ?? true);
  header(w, o.ptype ?? PT.BIND, o.flags ?? (FIRST | LAST), o.callId ?? 1);
  w.u16(o.maxXmit ?? 5840).u16(o.maxRecv ?? 5840).u32(o.assocGroup ?? 0);
  w.u8(o.contexts.length).u8(0).u16(0);
  for (const c of o.contexts) {
    w.u16(c.id).u8(c.transfers.length).u8(0).syntax(c.abstract);
    for (const t of c.transfers) w.syntax(t);
  }
  if (o.auth) trailer(w, o.auth);
  return finish(w, o.auth ? o.auth.token.length : 0);
}

export function alter(o: Parameters<typeof bind>[0]): Buffer {
  return bind({ ...o, ptype: PT.ALTER });
}

export function auth3(o: { callId?: number; le?: boolean; auth: AuthSpec }): Buffer {
  const w = new W(o.le ?? true);
  header(w, PT.AUTH3, FIRST | LAST, o.callId ?? 1);
  w.u32(0);
  trailer(w, o.auth);
  return finish(w, o.auth.token.length);
}

export interface RequestSpec {
  callId: number; contextId?: number; opnum: number; stub: Buffer; le?: boolean; flags?: number; allocHint?: number; object?: string;
  /** Sign (and for privacy seal) the PDU: gets the PDU up to the trailer, returns the verifier. */
  auth?: {
    type: number; level: number; contextId: number; sigLength: number; protect?: (pdu: Buffer, stubStart: number, stubEnd: number) => Buffer;
    /** Stub plus auth padding is a multiple of this (16 unless a test wants the trailer elsewhere). */
    align?: number;
  };
}

export function request(o: RequestSpec): Buffer {
  const le = o.le ?? true;
  const w = new W(le);
  const flags = (o.flags ?? (FIRST | LAST)) | (o.object ? OBJECT_UUID : 0);
  header(w, PT.REQUEST, flags, o.callId);
  w.u32(o.allocHint ?? o.stub.length).u16(o.contextId ?? 0).u16(o.opnum);
  if (o.object) w.uuid(o.object);
  const stubStart = w.length;
  w.bytes(o.stub);
  if (!o.auth) return finish(w, 0);
  const align = o.auth.align ?? 16;
  const pad = (align - (o.stub.length % align)) % align;
  for (let i = 0; i < pad; i++) w.u8(0);
  const stubEnd = w.length;
  w.u8(o.auth.type).u8(o.auth.level).u8(pad).u8(0).u32(o.auth.contextId);
  const noSig = w.buf();
  const total = noSig.length + o.auth.sigLength;
  const out = Buffer.alloc(total);
  noSig.copy(out);
  if (le) { out.writeUInt16LE(total, 8); out.writeUInt16LE(o.auth.sigLength, 10); } else { out.writeUInt16BE(total, 8); out.writeUInt16BE(o.auth.sigLength, 10); }
  const sig = o.auth.protect ? o.auth.protect(out.subarray(0, noSig.length), stubStart, stubEnd) : Buffer.alloc(o.auth.sigLength);
  sig.copy(out, noSig.length);
  return out;
}

/** Split a stub into several request fragments. */
export function fragmentedRequest(o: RequestSpec & { chunk: number }): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < o.stub.length || out.length === 0; pos += o.chunk) {
    const part = o.stub.subarray(pos, pos + o.chunk);
    let flags = 0;
    if (pos === 0) flags |= FIRST;
    if (pos + o.chunk >= o.stub.length) flags |= LAST;
    out.push(request({ ...o, stub: part, flags, allocHint: o.stub.length - pos }));
  }
  return out;
}

export function simple(ptype: number, callId: number, le = true, flags = FIRST | LAST): Buffer {
  const w = new W(le);
  header(w, ptype, flags, callId);
  return finish(w, 0);
}

// ------------------------------------------------------------------ parsing

export interface AckResult { result: number; reason: number; transfer: SyntaxId }
export interface Parsed {
  raw: Buffer;
  ptype: number; flags: number; le: boolean; fragLength: number; authLength: number; callId: number; drep: Buffer;
  // bind_ack / alter_resp
  maxXmit?: number; maxRecv?: number; assocGroup?: number; secAddr?: string; results?: AckResult[];
  // bind_nak
  rejectReason?: number; versions?: Array<[number, number]>;
  // response / fault
  allocHint?: number; contextId?: number; cancelCount?: number; status?: number; faultFlags?: number; stub?: Buffer;
  // auth trailer
  auth?: { type: number; level: number; padLength: number; contextId: number; value: Buffer; offset: number };
}

class R {
  constructor(readonly b: Buffer, public off: number, readonly le: boolean) {}
  u8() { return this.b[this.off++]; }
  u16() { const v = this.le ? this.b.readUInt16LE(this.off) : this.b.readUInt16BE(this.off); this.off += 2; return v; }
  u32() { const v = this.le ? this.b.readUInt32LE(this.off) : this.b.readUInt32BE(this.off); this.off += 4; return v; }
  uuid() {
    const a = this.u32().toString(16).padStart(8, '0');
    const b = this.u16().toString(16).padStart(4, '0');
    const c = this.u16().toString(16).padStart(4, '0');
    const d = this.b.toString('hex', this.off, this.off + 2);
    const e = this.b.toString('hex', this.off + 2, this.off + 8);
    this.off += 8;
    return `${a}-${b}-${c}-${d}-${e}`;
  }
  syntax(): SyntaxId { const uuid = this.uuid(); const v = this.u32(); return { uuid, major: v & 0xffff, minor: v >>> 16 }; }
}

export function parse(raw: Buffer): Parsed {
  const le = (raw[4] & 0x10) !== 0;
  const r = new R(raw, 0, le);
  expect(r.u8()).toBe(5);
  r.u8();
  const ptype = r.u8();
  const flags = r.u8();
  const drep = raw.subarray(4, 8);
  r.off = 8;
  const fragLength = r.u16();
  const authLength = r.u16();
  const callId = r.u32();
  expect(fragLength).toBe(raw.length);
  const p: Parsed = { raw, ptype, flags, le, fragLength, authLength, callId, drep };
  const authStart = authLength ? fragLength - authLength - 8 : fragLength;
  if (authLength) {
    const a = new R(raw, authStart, le);
    p.auth = { type: a.u8(), level: a.u8(), padLength: a.u8(), contextId: (a.u8(), a.u32()), value: raw.subarray(authStart + 8), offset: authStart };
  }
  if (ptype === PT.BIND_ACK || ptype === PT.ALTER_RESP) {
    p.maxXmit = r.u16(); p.maxRecv = r.u16(); p.assocGroup = r.u32();
    const n = r.u16();
    p.secAddr = raw.toString('latin1', r.off, r.off + Math.max(0, n - 1));
    r.off += n;
    r.off += (4 - (r.off % 4)) % 4;
    const count = r.u8(); r.off += 3;
    p.results = [];
    for (let i = 0; i < count; i++) p.results.push({ result: r.u16(), reason: r.u16(), transfer: r.syntax() });
  } else if (ptype === PT.BIND_NAK) {
    p.rejectReason = r.u16();
    const n = r.u8();
    p.versions = [];
    for (let i = 0; i < n; i++) p.versions.push([r.u8(), r.u8()]);
  } else if (ptype === PT.RESPONSE) {
    p.allocHint = r.u32(); p.contextId = r.u16(); p.cancelCount = r.u8(); r.u8();
    p.stub = raw.subarray(24, p.auth ? authStart - p.auth.padLength : fragLength);
  } else if (ptype === PT.FAULT) {
    p.allocHint = r.u32(); p.contextId = r.u16(); p.cancelCount = r.u8(); p.faultFlags = r.u8(); p.status = r.u32();
  }
  return p;
}
