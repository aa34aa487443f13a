/**
 * Hand-written parts of the MS-SWN codec: what NDR cannot express (idl/ms-swn.cnf points the
 * generator here). Samba keeps the same things in librpc/ndr/ndr_witness.c, Wireshark in
 * witness.cnf.
 *
 * 1. WITNESS_INTERFACE_INFO.InterfaceGroupName — WCHAR[260], NUL-terminated, zero-filled:
 *    a JS string of at most 259 UTF-16 code units. WCHARs follow the stub's byte order.
 * 2. WITNESS_INTERFACE_INFO.IPV4 / IPV6 — declared ULONG / USHORT[8], but the bytes are the
 *    address in network order whatever the stub's byte order: text ("192.168.3.44",
 *    "fe80::1"). An absent family is "0.0.0.0" / "::".
 * 3. RESP_ASYNC_NOTIFY — MessageBuffer is a conformant byte array whose contents are packed
 *    little-endian records with no NDR alignment (MS-SWN §2.2.2.1-2.2.2.3). The TS value is
 *
 *      { MessageType: 1, Messages: RESOURCE_CHANGE[] }     RESOURCE_CHANGE_NOTIFICATION
 *      { MessageType: 2..4, Messages: IPADDR_INFO_LIST[] } CLIENT_MOVE / SHARE_MOVE / IP_CHANGE
 *
 *    Length, NumberOfMessages, each record's Length, IPADDR_INFO_LIST.Reserved and
 *    IPAddrInstances are derived on encode and checked on decode (they are not in the value).
 *    No messages encodes as a NULL MessageBuffer with Length 0. The Spec wants exactly one
 *    IPADDR_INFO_LIST for types 2-4; the codec does not enforce that (the service does).
 *    Decoding is strict: the records must fill exactly Length bytes, an unknown
 *    MessageType with a buffer is an error, and every record consumes bytes (no zero-progress
 *    loop can turn a tiny stub into a huge array).
 */
import { NdrError } from '../errors';
import type { NdrReader } from '../reader';
import type { NdrFieldCodec, NdrTypeCodec } from '../codec';
import type { NdrWriter } from '../writer';
import { ipv4FromBytes, ipv6FromBytes, ipv6ToBytes, parseIpv4Into } from './ip';

export interface RESOURCE_CHANGE {
  /** RESOURCE_STATE_UNKNOWN (0), _AVAILABLE (1) or _UNAVAILABLE (0xFF). */
  ChangeType: number;
  /** NetName or IP address as registered, or an InterfaceGroupName. */
  ResourceName: string;
}

export interface IPADDR_INFO {
  /** IPADDR_V4 | IPADDR_V6 | IPADDR_ONLINE | IPADDR_OFFLINE. */
  Flags: number;
  IPV4: string;
  IPV6: string;
}

export interface IPADDR_INFO_LIST {
  IPAddrInfo: IPADDR_INFO[];
}

/**
 * MessageType 1 (RESOURCE_CHANGE_NOTIFICATION) carries RESOURCE_CHANGE records; 2, 3, 4
 * (CLIENT_MOVE, SHARE_MOVE, IP_CHANGE) carry IPADDR_INFO_LIST records. The codec checks the
 * pairing at run time (a plain number keeps object literals easy to build).
 */
export interface RESP_ASYNC_NOTIFY {
  MessageType: number;
  Messages: RESOURCE_CHANGE[] | IPADDR_INFO_LIST[];
}

const GROUP_NAME_WCHARS = 260;

export const interfaceGroupName: NdrFieldCodec<string> = {
  write(w: NdrWriter, v: string): void {
    if (typeof v !== 'string') w.fail('InterfaceGroupName: string expected');
    if (v.length > GROUP_NAME_WCHARS - 1) w.fail(`InterfaceGroupName of ${v.length} characters exceeds ${GROUP_NAME_WCHARS - 1}`);
    if (v.includes('\0')) w.fail('InterfaceGroupName contains NUL');
    w.wchars(v);
    w.zeros(2 * (GROUP_NAME_WCHARS - v.length - 1));
  },
  read(r: NdrReader): string {
    const at = r.pos;
    r.skip(2 * GROUP_NAME_WCHARS);
    const b = r.buf;
    const hi = r.littleEndian ? 1 : 0;
    let s = '';
    for (let n = 0; n < GROUP_NAME_WCHARS; n++) {
      const c = (b[at + 2 * n + hi] << 8) | b[at + 2 * n + 1 - hi];
      if (c === 0) return s;
      s += String.fromCharCode(c);
    }
    return r.fail('InterfaceGroupName is not NUL-terminated', at);
  },
};

export const ipv4NetworkOrder: NdrFieldCodec<string> = {
  write(w: NdrWriter, v: string): void {
    const at = w.offset;
    const { buf, off } = w.reserve(4);
    if (!parseIpv4Into(v, buf, off)) throw new NdrError(`not an IPv4 address: ${JSON.stringify(v)}`, at);
  },
  read(r: NdrReader): string {
    const at = r.pos;
    r.skip(4);
    return ipv4FromBytes(r.buf, at);
  },
};

export const ipv6NetworkOrder: NdrFieldCodec<string> = {
  write(w: NdrWriter, v: string): void {
    const b = ipv6ToBytes(v, w.offset);
    const { buf, off } = w.reserve(16);
    for (let i = 0; i < 16; i++) buf[off + i] = b[i];
  },
  read(r: NdrReader): string {
    const at = r.pos;
    r.skip(16);
    return ipv6FromBytes(r.buf, at);
  },
};

// ---- the MessageBuffer records ----

function checkType(t: unknown, at: number): void {
  if (t !== 1 && t !== 2 && t !== 3 && t !== 4) throw new NdrError(`RESP_ASYNC_NOTIFY: unknown MessageType ${String(t)}`, at);
}

/** Check the records of one response and return the MessageBuffer size they need. */
export function messageBufferSize(v: RESP_ASYNC_NOTIFY, at = 0): number {
  checkType(v.MessageType, at);
  if (!Array.isArray(v.Messages)) throw new NdrError('RESP_ASYNC_NOTIFY: Messages must be an array', at);
  let total = 0;
  if (v.MessageType === 1) {
    for (const m of v.Messages as RESOURCE_CHANGE[]) {
      if (typeof m?.ResourceName !== 'string' || m.ResourceName.indexOf('\0') >= 0) throw new NdrError('RESOURCE_CHANGE.ResourceName must be a string without NUL', at);
      if (!Number.isInteger(m.ChangeType) || m.ChangeType < 0 || m.ChangeType > 0xffffffff) throw new NdrError(`RESOURCE_CHANGE.ChangeType out of range: ${m.ChangeType}`, at);
      total += 8 + 2 * (m.ResourceName.length + 1);
    }
  } else {
    for (const list of v.Messages as IPADDR_INFO_LIST[]) {
      if (!Array.isArray(list?.IPAddrInfo)) throw new NdrError('IPADDR_INFO_LIST.IPAddrInfo must be an array', at);
      total += 12 + 24 * list.IPAddrInfo.length;
    }
  }
  return total;
}

/** Write the records (checked by messageBufferSize) at b[p..]; b must be zero there. */
function writeMessages(v: RESP_ASYNC_NOTIFY, b: Buffer, p: number, at: number): void {
  if (v.MessageType === 1) {
    for (const m of v.Messages as RESOURCE_CHANGE[]) {
      const name = m.ResourceName;
      const len = 8 + 2 * (name.length + 1);
      b.writeUInt32LE(len, p);
      b.writeUInt32LE(m.ChangeType, p + 4);
      for (let i = 0, o = p + 8; i < name.length; i++, o += 2) {
        const c = name.charCodeAt(i);
        b[o] = c & 0xff;
        b[o + 1] = c >>> 8;
      }
      p += len; // the NUL is already zero
    }
    return;
  }
  for (const list of v.Messages as IPADDR_INFO_LIST[]) {
    const len = 12 + 24 * list.IPAddrInfo.length;
    b.writeUInt32LE(len, p);
    b.writeUInt32LE(0, p + 4);
    b.writeUInt32LE(list.IPAddrInfo.length, p + 8);
    for (let i = 0; i < list.IPAddrInfo.length; i++) {
      const ip = list.IPAddrInfo[i];
      const o = p + 12 + 24 * i;
      if (!Number.isInteger(ip?.Flags) || ip.Flags < 0 || ip.Flags > 0xffffffff) throw new NdrError(`IPADDR_INFO.Flags out of range: ${ip?.Flags}`, at);
      b.writeUInt32LE(ip.Flags, o);
      if (!parseIpv4Into(ip.IPV4, b, o + 4)) throw new NdrError(`not an IPv4 address: ${JSON.stringify(ip.IPV4)}`, at);
      const v6 = ipv6ToBytes(ip.IPV6, at);
      for (let k = 0; k < 16; k++) b[o + 8 + k] = v6[k];
    }
    p += len;
  }
}

/** Encode the records of one response into the MessageBuffer bytes (little-endian, packed). */
export function encodeMessageBuffer(v: RESP_ASYNC_NOTIFY, at = 0): Buffer {
  const b = Buffer.alloc(messageBufferSize(v, at));
  writeMessages(v, b, 0, at);
  return b;
}

/**
 * Decode `count` records of `type` from buf[start, start+length). `at` is the stub offset of
 * buf[start] (for error offsets).
 */
export function decodeMessageBuffer(type: number, count: number, buf: Buffer, start: number, length: number, at = start): RESP_ASYNC_NOTIFY {
  checkType(type, at);
  const end = start + length;
  let p = start;
  const fail = (msg: string): never => {
    throw new NdrError(msg, at + (p - start), ['MessageBuffer']);
  };
  const messages: (RESOURCE_CHANGE | IPADDR_INFO_LIST)[] = [];
  for (let i = 0; i < count; i++) {
    if (end - p < (type === 1 ? 10 : 12)) fail(`record ${i} of ${count} does not fit in the ${length}-byte MessageBuffer`);
    const len = buf.readUInt32LE(p);
    if (len > end - p) fail(`record ${i} Length ${len} exceeds the ${end - p} byte(s) left in MessageBuffer`);
    if (type === 1) {
      if (len < 10 || (len & 1) !== 0) fail(`RESOURCE_CHANGE Length ${len} is invalid`);
      const ChangeType = buf.readUInt32LE(p + 4);
      let o = p + 8;
      while (o + 1 < p + len && (buf[o] | buf[o + 1]) !== 0) o += 2;
      if (o + 1 >= p + len) fail('RESOURCE_CHANGE.ResourceName is not NUL-terminated within its Length');
      messages.push({ ChangeType, ResourceName: buf.toString('utf16le', p + 8, o) });
    } else {
      const k = buf.readUInt32LE(p + 8);
      if (k > (end - p - 12) / 24 || len !== 12 + 24 * k) fail(`IPADDR_INFO_LIST Length ${len} does not match ${k} IPADDR_INFO entries`);
      const IPAddrInfo: IPADDR_INFO[] = [];
      for (let j = 0; j < k; j++) {
        const o = p + 12 + 24 * j;
        IPAddrInfo.push({ Flags: buf.readUInt32LE(o), IPV4: ipv4FromBytes(buf, o + 4), IPV6: ipv6FromBytes(buf, o + 8) });
      }
      messages.push({ IPAddrInfo });
    }
    p += len;
  }
  if (p !== end) fail(`${end - p} byte(s) left in MessageBuffer after ${count} record(s)`);
  return { MessageType: type, Messages: messages } as RESP_ASYNC_NOTIFY;
}

// ---- RESP_ASYNC_NOTIFY as an NDR type (scalars / deferred buffer) ----

/** What the scalars carry for the deferred MessageBuffer: its size and record count. */
export interface RESP_ASYNC_NOTIFY_Scalars {
  MessageType: number;
  length: number;
  count: number;
  present: boolean;
}

// Encoding, the scalars phase computes the MessageBuffer's size, which the buffers phase
// needs again. Scalars and buffers of one value are coded back to back (a top-level pointee),
// so one slot carries it; a WeakMap covers other orders.
const pending = new WeakMap<object, RESP_ASYNC_NOTIFY_Scalars>();
let slotValue: object | null = null;
let slotInfo: RESP_ASYNC_NOTIFY_Scalars | null = null;

function stash(v: object, info: RESP_ASYNC_NOTIFY_Scalars): void {
  if (slotValue !== null && slotInfo !== null) pending.set(slotValue, slotInfo);
  slotValue = v;
  slotInfo = info;
}

function unstash(v: object): RESP_ASYNC_NOTIFY_Scalars | undefined {
  if (v === slotValue) {
    const info = slotInfo!;
    slotValue = null;
    slotInfo = null;
    return info;
  }
  const info = pending.get(v);
  pending.delete(v);
  return info;
}

function scalarsOf(v: RESP_ASYNC_NOTIFY, at: number): RESP_ASYNC_NOTIFY_Scalars {
  const length = messageBufferSize(v, at); // checks the records first
  const count = v.Messages.length;
  return { MessageType: v.MessageType, length, count, present: count > 0 };
}

export const respAsyncNotify: NdrTypeCodec<RESP_ASYNC_NOTIFY, RESP_ASYNC_NOTIFY_Scalars> = {
  writeScalars(w: NdrWriter, v: RESP_ASYNC_NOTIFY): void {
    if (v === null || typeof v !== 'object') w.fail('RESP_ASYNC_NOTIFY: object expected');
    const s = scalarsOf(v, w.offset);
    w.u32(v.MessageType);
    w.u32(s.length);
    w.u32(s.count);
    w.pointer(s.present);
    stash(v, s);
  },
  writeBuffers(w: NdrWriter, v: RESP_ASYNC_NOTIFY): void {
    const s = unstash(v) ?? scalarsOf(v, w.offset);
    if (!s.present) return;
    w.conformance(s.length);
    const at = w.offset;
    const { buf, off } = w.reserve(s.length);
    writeMessages(v, buf, off, at);
  },
  readScalars(r: NdrReader): RESP_ASYNC_NOTIFY_Scalars {
    const at = r.pos;
    const MessageType = r.u32();
    const length = r.u32();
    const count = r.u32();
    const present = r.pointer() !== 0;
    if (!present && (length !== 0 || count !== 0)) {
      r.fail(`RESP_ASYNC_NOTIFY: NULL MessageBuffer with Length ${length} and NumberOfMessages ${count}`, at);
    }
    if (!present) checkType(MessageType, at);
    return { MessageType, length, count, present };
  },
  readBuffers(r: NdrReader, s: RESP_ASYNC_NOTIFY_Scalars): RESP_ASYNC_NOTIFY {
    if (!s.present) return { MessageType: s.MessageType, Messages: [] };
    const at = r.pos;
    const max = r.conformance(); // 4 bytes in NDR 2.0, 8 in NDR64
    if (max !== s.length) r.fail(`MessageBuffer max_count ${max} differs from Length ${s.length}`, at);
    const start = r.pos;
    r.skip(s.length);
    return decodeMessageBuffer(s.MessageType, s.count, r.buf, start, s.length, start);
  },
};
