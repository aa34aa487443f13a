/**
 * Protocol towers (C706 appendix L; MS-RPCE 2.2.1.2.x): the octet string inside twr_t that
 * names an interface, a transfer syntax, the RPC protocol and the transport address. Floors
 * are little-endian whatever the PDU's byte order; the TCP port and the IPv4 address are in
 * network order.
 */
import type { SyntaxId } from '../../ndr/dispatch';
import { uuidFromWire, uuidToWire } from '../wire';

export const FloorProtocol = {
  UUID: 0x0d,
  NCACN: 0x0b, // connection-oriented RPC
  NCADG: 0x0a,
  NCALRPC: 0x0c,
  TCP: 0x07,
  UDP: 0x08,
  IP: 0x09,
  NAMED_PIPE: 0x0f,
  NETBIOS: 0x11,
  HTTP: 0x1f,
} as const;

export interface Floor {
  readonly lhs: Buffer;
  readonly rhs: Buffer;
}

/** Upper bounds that keep a hostile tower from costing anything. */
const MAX_FLOORS = 16;

export class TowerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TowerError';
  }
}

export function decodeFloors(tower: Buffer): Floor[] {
  if (tower.length < 2) throw new TowerError('tower shorter than its floor count');
  const n = tower.readUInt16LE(0);
  if (n > MAX_FLOORS) throw new TowerError(`tower with ${n} floors`);
  const floors: Floor[] = [];
  let off = 2;
  for (let i = 0; i < n; i++) {
    const take = (): Buffer => {
      if (off + 2 > tower.length) throw new TowerError('tower truncated');
      const len = tower.readUInt16LE(off);
      off += 2;
      if (off + len > tower.length) throw new TowerError('tower truncated');
      const b = tower.subarray(off, off + len);
      off += len;
      return b;
    };
    const lhs = take();
    const rhs = take();
    if (lhs.length === 0) throw new TowerError('floor without protocol identifier');
    floors.push({ lhs, rhs });
  }
  return floors;
}

export function encodeFloors(floors: readonly Floor[]): Buffer {
  let len = 2;
  for (const f of floors) len += 4 + f.lhs.length + f.rhs.length;
  const out = Buffer.alloc(len);
  out.writeUInt16LE(floors.length, 0);
  let off = 2;
  for (const f of floors) {
    out.writeUInt16LE(f.lhs.length, off);
    f.lhs.copy(out, off + 2);
    off += 2 + f.lhs.length;
    out.writeUInt16LE(f.rhs.length, off);
    f.rhs.copy(out, off + 2);
    off += 2 + f.rhs.length;
  }
  return out;
}

/** A UUID floor: lhs = 0x0d, uuid, major (u16 LE); rhs = minor (u16 LE). */
export function syntaxFloor(s: SyntaxId): Floor {
  const lhs = Buffer.alloc(19);
  lhs[0] = FloorProtocol.UUID;
  uuidToWire(s.uuid, true, lhs, 1);
  lhs.writeUInt16LE(s.major, 17);
  const rhs = Buffer.alloc(2);
  rhs.writeUInt16LE(s.minor, 0);
  return { lhs, rhs };
}

export function floorSyntax(f: Floor): SyntaxId | undefined {
  if (f.lhs[0] !== FloorProtocol.UUID || f.lhs.length !== 19 || f.rhs.length < 2) return undefined;
  return { uuid: uuidFromWire(f.lhs, 1, true), major: f.lhs.readUInt16LE(17), minor: f.rhs.readUInt16LE(0) };
}

export interface TcpTower {
  readonly iface: SyntaxId;
  readonly transfer: SyntaxId;
  readonly port: number;
  /** Dotted IPv4 address (0.0.0.0 when unknown). */
  readonly ip: string;
}

/** The five floors of an ncacn_ip_tcp tower. */
export function encodeTcpTower(t: TcpTower): Buffer {
  const port = Buffer.alloc(2);
  port.writeUInt16BE(t.port, 0);
  const ip = Buffer.from(t.ip.split('.').map((x) => Number(x) & 0xff));
  if (ip.length !== 4) throw new TowerError(`not an IPv4 address: ${t.ip}`);
  return encodeFloors([
    syntaxFloor(t.iface),
    syntaxFloor(t.transfer),
    { lhs: Buffer.from([FloorProtocol.NCACN]), rhs: Buffer.from([0, 0]) },
    { lhs: Buffer.from([FloorProtocol.TCP]), rhs: port },
    { lhs: Buffer.from([FloorProtocol.IP]), rhs: ip },
  ]);
}

/** What a client asks for in an ept_map tower. */
export interface MapRequest {
  readonly iface: SyntaxId;
  readonly transfer: SyntaxId | undefined;
  /** Protocol ids of floors 3.. (e.g. [0x0b, 0x07, 0x09] for ncacn_ip_tcp). */
  readonly protocols: readonly number[];
}

export function decodeMapRequest(tower: Buffer): MapRequest {
  const floors = decodeFloors(tower);
  if (floors.length < 3) throw new TowerError(`tower with ${floors.length} floors (at least 3 needed)`);
  const iface = floorSyntax(floors[0]);
  if (!iface) throw new TowerError('first floor does not name an interface');
  return { iface, transfer: floorSyntax(floors[1]), protocols: floors.slice(2).map((f) => f.lhs[0]) };
}
