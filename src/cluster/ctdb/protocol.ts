/**
 * ctdbd's client protocol on its Unix socket: packet header, control request/reply and
 * message, and the payloads witnessd reads (node map, public IP list), described
 * declaratively with binary-parser. Facts from Samba's ctdb/protocol/protocol.h and
 * protocol_types.c (4.22): every field in host byte order, structs pushed field after field
 * without padding, a packet padded to 8 bytes with `length` counting the padding.
 */
import { endianness } from 'node:os';
import { Parser } from 'binary-parser';
import { canonicalIpv6 } from '../../lib/address';

export const CTDB_MAGIC = 0x43544442; // "CTDB"
export const CTDB_PROTOCOL = 1;
/** destnode of a control meant for the ctdbd we are connected to. */
export const CTDB_CURRENT_NODE = 0xf0000001;
export const CTDB_UNKNOWN_PNN = 0xffffffff;

export const CtdbOperation = { REQ_MESSAGE: 5, REQ_CONTROL: 7, REPLY_CONTROL: 8 } as const;

export const CtdbControl = {
  REGISTER_SRVID: 23,
  DEREGISTER_SRVID: 24,
  GET_PNN: 35,
  GET_PUBLIC_IPS: 90,
  GET_NODEMAP: 91,
} as const;

/** Message ids (srvids) a client registers to receive CTDB_REQ_MESSAGE packets. */
export const CtdbSrvid = {
  RECONFIGURE: 0xf200000000000000n,
  RELEASE_IP: 0xf300000000000000n,
  TAKE_IP: 0xf301000000000000n,
  /** Sent after every takeover run on every node (CTDB 4.20+). */
  IPREALLOCATED: 0xf302000000000000n,
} as const;
// No srvid tells a client that a peer disconnected, was banned or stopped (ctdbd's
// ctdb_node_dead() sends nothing; PUSH_NODE_FLAGS is only this node's own health, for the
// recovery daemon): node flags are read with GET_NODEMAP.

export const NodeFlags = {
  DISCONNECTED: 0x01,
  UNHEALTHY: 0x02,
  PERMANENTLY_DISABLED: 0x04,
  BANNED: 0x08,
  DELETED: 0x10,
  STOPPED: 0x20,
} as const;
export const NODE_FLAGS_INACTIVE = NodeFlags.DELETED | NodeFlags.DISCONNECTED | NodeFlags.BANNED | NodeFlags.STOPPED;

/** Flag names as `ctdb status` prints them, for logs and the operator view. */
export function nodeFlagNames(flags: number): string[] {
  const names = Object.entries(NodeFlags).filter(([, bit]) => (flags & bit) !== 0).map(([n]) => n);
  return names.length === 0 ? ['OK'] : names;
}

// ---- fixed-layout structs: one field list gives both the parser and the encoder ----------

type FieldType = 'u16' | 'u32' | 'i32' | 'u64';
type FieldValue<T extends FieldType> = T extends 'u64' ? bigint : number;
type Fields = readonly (readonly [string, FieldType])[];
type StructOf<F extends Fields> = { [K in F[number] as K[0]]: FieldValue<K[1]> };

const HOST: 'little' | 'big' = endianness() === 'LE' ? 'little' : 'big';
const SIZE: Record<FieldType, number> = { u16: 2, u32: 4, i32: 4, u64: 8 };

export interface Struct<T> {
  readonly size: number;
  readonly parser: Parser;
  decode(buf: Buffer, offset?: number): T;
  encode(value: T, into?: Buffer, offset?: number): Buffer;
}

function addField(p: Parser, name: string, type: FieldType): Parser {
  switch (type) {
    case 'u16':
      return p.uint16(name);
    case 'u32':
      return p.uint32(name);
    case 'i32':
      return p.int32(name);
    case 'u64':
      return p.uint64(name);
  }
}

function struct<const F extends Fields>(fields: F): Struct<StructOf<F>> {
  const parser = fields.reduce((p, [n, t]) => addField(p, n, t), new Parser().endianness(HOST));
  const size = fields.reduce((s, [, t]) => s + SIZE[t], 0);
  const le = HOST === 'little';
  return {
    size,
    parser,
    decode(buf, offset = 0) {
      if (buf.length - offset < size) throw new RangeError(`need ${size} bytes, have ${buf.length - offset}`);
      return parser.parse(offset === 0 ? buf : buf.subarray(offset)) as StructOf<F>;
    },
    encode(value, into = Buffer.alloc(size), offset = 0) {
      let at = offset;
      const v = value as Record<string, number | bigint>;
      for (const [n, t] of fields) {
        if (t === 'u16') at = le ? into.writeUInt16LE(v[n] as number, at) : into.writeUInt16BE(v[n] as number, at);
        else if (t === 'u32') at = le ? into.writeUInt32LE(v[n] as number, at) : into.writeUInt32BE(v[n] as number, at);
        else if (t === 'i32') at = le ? into.writeInt32LE(v[n] as number, at) : into.writeInt32BE(v[n] as number, at);
        else at = le ? into.writeBigUInt64LE(v[n] as bigint, at) : into.writeBigUInt64BE(v[n] as bigint, at);
      }
      return into;
    },
  };
}

/** struct ctdb_req_header */
export const Header = struct([
  ['length', 'u32'], ['magic', 'u32'], ['version', 'u32'], ['generation', 'u32'],
  ['operation', 'u32'], ['destnode', 'u32'], ['srcnode', 'u32'], ['reqid', 'u32'],
] as const);
export type Header = ReturnType<typeof Header.decode>;

/** struct ctdb_req_control (after the header; `datalen` bytes of data follow) */
export const ReqControl = struct([
  ['opcode', 'u32'], ['pad', 'u32'], ['srvid', 'u64'], ['client_id', 'u32'], ['flags', 'u32'], ['datalen', 'u32'],
] as const);

/** struct ctdb_reply_control (after the header; data then error text follow) */
export const ReplyControl = struct([['status', 'i32'], ['datalen', 'u32'], ['errorlen', 'u32']] as const);

/** struct ctdb_req_message (after the header; `datalen` bytes of data follow) */
export const ReqMessage = struct([['srvid', 'u64'], ['datalen', 'u32']] as const);

// ---- payloads ------------------------------------------------------------------------------

/** Linux struct sockaddr union as ctdb pushes it: 28 bytes, family in host order, the rest in network order. */
const SOCKADDR_SIZE = 28;
const AF_INET = 2;
const AF_INET6 = 10;
/** A node map or IP list longer than this is garbage, not a cluster (CTDB's own limit is far lower). */
export const MAX_LIST_ENTRIES = 4096;

const sockAddr = new Parser().endianness(HOST).uint16('family').uint16be('port').buffer('rest', { length: SOCKADDR_SIZE - 4 });

const nodeAndFlags = new Parser().endianness(HOST).uint32('pnn').uint32('flags').nest('addr', { type: sockAddr });
const nodeMap = new Parser()
  .endianness(HOST)
  .uint32('num', { assert: (n: number | string) => (n as number) <= MAX_LIST_ENTRIES })
  .array('nodes', { type: nodeAndFlags, length: 'num' });

const publicIp = new Parser().endianness(HOST).uint32('pnn').nest('addr', { type: sockAddr });
const publicIpList = new Parser()
  .endianness(HOST)
  .uint32('num', { assert: (n: number | string) => (n as number) <= MAX_LIST_ENTRIES })
  .array('ips', { type: publicIp, length: 'num' });

interface RawSockAddr {
  family: number;
  port: number;
  rest: Buffer;
}

function addressText(a: RawSockAddr): string {
  if (a.family === AF_INET) return [...a.rest.subarray(0, 4)].join('.');
  if (a.family === AF_INET6) {
    const b = a.rest.subarray(4, 20);
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
    return canonicalIpv6(groups.join(':')) as string;
  }
  throw new RangeError(`unknown address family ${a.family}`);
}

export interface CtdbNodeEntry {
  readonly pnn: number;
  readonly flags: number;
  readonly address: string;
}
export interface CtdbPublicIpEntry {
  /** The node hosting it now, or CTDB_UNKNOWN_PNN (-1 as u32) when nobody does. */
  readonly pnn: number;
  readonly address: string;
}

/** GET_NODEMAP reply data. Throws (RangeError or binary-parser's assertion) on garbage. */
export function decodeNodeMap(data: Buffer): CtdbNodeEntry[] {
  const r = nodeMap.parse(data) as { nodes: Array<{ pnn: number; flags: number; addr: RawSockAddr }> };
  return r.nodes.map((n) => ({ pnn: n.pnn, flags: n.flags, address: addressText(n.addr) }));
}

/** GET_PUBLIC_IPS reply data. */
export function decodePublicIps(data: Buffer): CtdbPublicIpEntry[] {
  const r = publicIpList.parse(data) as { ips: Array<{ pnn: number; addr: RawSockAddr }> };
  return r.ips.map((ip) => ({ pnn: ip.pnn, address: addressText(ip.addr) }));
}

/** The sockaddr bytes for an address (the fake ctdbd in the tests builds its replies with this). */
export function encodeSockAddr(address: string): Buffer {
  const b = Buffer.alloc(SOCKADDR_SIZE);
  if (address.includes(':')) {
    if (HOST === 'little') b.writeUInt16LE(AF_INET6, 0);
    else b.writeUInt16BE(AF_INET6, 0);
    const groups = expandIpv6(address);
    groups.forEach((g, i) => b.writeUInt16BE(g, 8 + 2 * i));
  } else {
    if (HOST === 'little') b.writeUInt16LE(AF_INET, 0);
    else b.writeUInt16BE(AF_INET, 0);
    address.split('.').forEach((o, i) => b.writeUInt8(Number(o), 4 + i));
  }
  return b;
}

function expandIpv6(address: string): number[] {
  const [head, tail] = address.split('::');
  const h = head ? head.split(':').map((g) => parseInt(g, 16)) : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':').map((g) => parseInt(g, 16)) : [];
  return tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
}

/** A u32 list count followed by entries, as ctdb pushes node maps and IP lists. */
export function encodeList<T>(entries: readonly T[], entry: (e: T) => Buffer): Buffer {
  const n = Buffer.alloc(4);
  if (HOST === 'little') n.writeUInt32LE(entries.length);
  else n.writeUInt32BE(entries.length);
  return Buffer.concat([n, ...entries.map(entry)]);
}

export function encodeU32(v: number): Buffer {
  const b = Buffer.alloc(4);
  if (HOST === 'little') b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}

export const encodeNodeMap = (nodes: readonly CtdbNodeEntry[]): Buffer =>
  encodeList(nodes, (n) => Buffer.concat([encodeU32(n.pnn), encodeU32(n.flags), encodeSockAddr(n.address)]));
export const encodePublicIps = (ips: readonly CtdbPublicIpEntry[]): Buffer =>
  encodeList(ips, (ip) => Buffer.concat([encodeU32(ip.pnn), encodeSockAddr(ip.address)]));

// ---- whole packets ---------------------------------------------------------------------------

/** Packets larger than this are refused (a node map of 4096 nodes is ~150 KiB). */
export const MAX_PACKET = 1 << 20;

const pad8 = (n: number): number => (n + 7) & ~7;

function packet(operation: number, destnode: number, reqid: number, body: Buffer): Buffer {
  const len = pad8(Header.size + body.length);
  const out = Buffer.alloc(len);
  Header.encode({ length: len, magic: CTDB_MAGIC, version: CTDB_PROTOCOL, generation: 0, operation, destnode, srcnode: 0, reqid }, out, 0);
  body.copy(out, Header.size);
  return out;
}

export interface ControlRequest {
  readonly opcode: number;
  readonly destnode?: number;
  readonly srvid?: bigint;
  readonly flags?: number;
  readonly data?: Buffer;
}

export function encodeControl(reqid: number, c: ControlRequest): Buffer {
  const data = c.data ?? Buffer.alloc(0);
  const fixed = ReqControl.encode({ opcode: c.opcode, pad: 0, srvid: c.srvid ?? 0n, client_id: 0, flags: c.flags ?? 0, datalen: data.length });
  return packet(CtdbOperation.REQ_CONTROL, c.destnode ?? CTDB_CURRENT_NODE, reqid, Buffer.concat([fixed, data]));
}

export function encodeControlReply(reqid: number, status: number, data: Buffer = Buffer.alloc(0), error = ''): Buffer {
  const err = Buffer.from(error, 'utf8');
  const fixed = ReplyControl.encode({ status, datalen: data.length, errorlen: err.length });
  return packet(CtdbOperation.REPLY_CONTROL, CTDB_CURRENT_NODE, reqid, Buffer.concat([fixed, data, err]));
}

export function encodeMessage(srvid: bigint, data: Buffer): Buffer {
  return packet(CtdbOperation.REQ_MESSAGE, CTDB_CURRENT_NODE, 0, Buffer.concat([ReqMessage.encode({ srvid, datalen: data.length }), data]));
}

/** A decoded packet; anything that does not fit is a CtdbProtocolError. */
export type CtdbPacket =
  | { readonly kind: 'reply'; readonly header: Header; readonly status: number; readonly data: Buffer; readonly error: string }
  | { readonly kind: 'message'; readonly header: Header; readonly srvid: bigint; readonly data: Buffer }
  | { readonly kind: 'control'; readonly header: Header; readonly opcode: number; readonly srvid: bigint; readonly flags: number; readonly data: Buffer }
  | { readonly kind: 'other'; readonly header: Header };

export class CtdbProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CtdbProtocolError';
  }
}

/** The length of the packet at the start of `buf`, validated, or undefined when fewer than 4 bytes are there. */
export function packetLength(buf: Buffer): number | undefined {
  if (buf.length < 4) return undefined;
  const len = HOST === 'little' ? buf.readUInt32LE(0) : buf.readUInt32BE(0);
  if (len < Header.size || len > MAX_PACKET) throw new CtdbProtocolError(`packet length ${len} outside ${Header.size}..${MAX_PACKET}`);
  return len;
}

/** Decode one whole packet (exactly `length` bytes). */
export function decodePacket(pkt: Buffer): CtdbPacket {
  const header = Header.decode(pkt);
  if (header.magic !== CTDB_MAGIC) throw new CtdbProtocolError(`bad magic 0x${header.magic.toString(16)}`);
  if (header.version !== CTDB_PROTOCOL) throw new CtdbProtocolError(`protocol version ${header.version}, not ${CTDB_PROTOCOL}`);
  const body = pkt.subarray(Header.size);
  const need = (n: number, what: string) => {
    if (n > body.length) throw new CtdbProtocolError(`truncated ${what}: ${n} bytes announced, ${body.length} present`);
  };
  switch (header.operation) {
    case CtdbOperation.REPLY_CONTROL: {
      need(ReplyControl.size, 'control reply');
      const r = ReplyControl.decode(body);
      need(ReplyControl.size + r.datalen + r.errorlen, 'control reply');
      const data = body.subarray(ReplyControl.size, ReplyControl.size + r.datalen);
      const error = body.subarray(ReplyControl.size + r.datalen, ReplyControl.size + r.datalen + r.errorlen).toString('utf8').replace(/\0+$/, '');
      return { kind: 'reply', header, status: r.status, data, error };
    }
    case CtdbOperation.REQ_MESSAGE: {
      need(ReqMessage.size, 'message');
      const m = ReqMessage.decode(body);
      need(ReqMessage.size + m.datalen, 'message');
      return { kind: 'message', header, srvid: m.srvid, data: body.subarray(ReqMessage.size, ReqMessage.size + m.datalen) };
    }
    case CtdbOperation.REQ_CONTROL: {
      need(ReqControl.size, 'control');
      const c = ReqControl.decode(body);
      need(ReqControl.size + c.datalen, 'control');
      return { kind: 'control', header, opcode: c.opcode, srvid: c.srvid, flags: c.flags, data: body.subarray(ReqControl.size, ReqControl.size + c.datalen) };
    }
    default:
      return { kind: 'other', header };
  }
}

/** A message's data as ctdb sends IP addresses: a NUL-terminated string. */
export function messageText(data: Buffer): string {
  const nul = data.indexOf(0);
  return data.subarray(0, nul < 0 ? data.length : nul).toString('utf8');
}
