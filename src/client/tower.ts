/**
 * Protocol towers (C706 appendix L, MS-RPCE 2.2.1.1.x) as the endpoint mapper carries them
 * inside twr_t.tower_octet_string: not NDR, a little-endian floor list with the TCP port
 * and IP address in network order.
 */
import { NDR20, bytesToUuid, uuidToBytes, type Syntax } from './pdu';

const PROTO_UUID = 0x0d;
const PROTO_RPC_CO = 0x0b;
const PROTO_TCP = 0x07;
const PROTO_IP = 0x09;

function floor(lhs: Buffer, rhs: Buffer): Buffer {
  const b = Buffer.alloc(4 + lhs.length + rhs.length);
  b.writeUInt16LE(lhs.length, 0);
  lhs.copy(b, 2);
  b.writeUInt16LE(rhs.length, 2 + lhs.length);
  rhs.copy(b, 4 + lhs.length);
  return b;
}

function uuidFloor(s: Syntax): Buffer {
  const lhs = Buffer.alloc(19);
  lhs[0] = PROTO_UUID;
  uuidToBytes(s.uuid).copy(lhs, 1);
  lhs.writeUInt16LE(s.major, 17);
  const rhs = Buffer.alloc(2);
  rhs.writeUInt16LE(s.minor, 0);
  return floor(lhs, rhs);
}

/** The ncacn_ip_tcp tower for `iface` (port 0 and 0.0.0.0 in a map request). */
export function buildTcpTower(iface: Syntax, port = 0, ipv4 = '0.0.0.0'): Buffer {
  const portRhs = Buffer.alloc(2);
  portRhs.writeUInt16BE(port, 0);
  const ip = Buffer.from(ipv4.split('.').map((x) => Number(x) & 0xff));
  const floors = [
    uuidFloor(iface),
    uuidFloor(NDR20),
    floor(Buffer.from([PROTO_RPC_CO]), Buffer.alloc(2)),
    floor(Buffer.from([PROTO_TCP]), portRhs),
    floor(Buffer.from([PROTO_IP]), ip.length === 4 ? ip : Buffer.alloc(4)),
  ];
  const count = Buffer.alloc(2);
  count.writeUInt16LE(floors.length, 0);
  return Buffer.concat([count, ...floors]);
}

export interface ParsedTower {
  readonly interface?: Syntax;
  readonly port?: number;
  readonly ipv4?: string;
}

/** Read the interface, TCP port and IP floor of a tower; throws on a malformed one. */
export function parseTower(t: Buffer): ParsedTower {
  if (t.length < 2) throw new Error('tower too short');
  const n = t.readUInt16LE(0);
  let off = 2;
  let iface: Syntax | undefined;
  let port: number | undefined;
  let ipv4: string | undefined;
  for (let i = 0; i < n; i++) {
    if (off + 2 > t.length) throw new Error('tower floor truncated');
    const lhsLen = t.readUInt16LE(off);
    const lhs = t.subarray(off + 2, off + 2 + lhsLen);
    off += 2 + lhsLen;
    if (off + 2 > t.length || lhs.length !== lhsLen || lhsLen < 1) throw new Error('tower floor truncated');
    const rhsLen = t.readUInt16LE(off);
    const rhs = t.subarray(off + 2, off + 2 + rhsLen);
    off += 2 + rhsLen;
    if (rhs.length !== rhsLen) throw new Error('tower floor truncated');
    if (lhs[0] === PROTO_UUID && lhsLen === 19 && i === 0 && rhsLen >= 2) {
      iface = { uuid: bytesToUuid(lhs, 1), major: lhs.readUInt16LE(17), minor: rhs.readUInt16LE(0) };
    } else if (lhs[0] === PROTO_TCP && rhsLen === 2) {
      port = rhs.readUInt16BE(0);
    } else if (lhs[0] === PROTO_IP && rhsLen === 4) {
      ipv4 = [...rhs].join('.');
    }
  }
  return { interface: iface, port, ipv4 };
}
