/**
 * What a light raw-replay DCE/RPC client needs: prebuilt bind and request PDUs and a
 * fragment splitter that costs next to nothing per PDU, so that the benchmark client is
 * not the bottleneck. Only little-endian, single-fragment, unauthenticated traffic.
 */
import { buildBind, type Syntax } from '../../../src/client/pdu';

export const PTYPE_RESPONSE = 2;
export const PTYPE_FAULT = 3;
export const PTYPE_BIND_ACK = 12;
export const PTYPE_BIND_NAK = 13;

export function bindPdu(callId: number, abstract: Syntax, maxFrag = 5840): Buffer {
  return buildBind(callId, abstract, maxFrag);
}

/** One request fragment (stub must fit in one fragment; the benchmarks' stubs are small). */
export function requestPdu(callId: number, opnum: number, stub: Buffer, contextId = 0): Buffer {
  const b = Buffer.allocUnsafe(24 + stub.length);
  b[0] = 5;
  b[1] = 0;
  b[2] = 0; // request
  b[3] = 0x03; // first + last fragment
  b.writeUInt32LE(0x00000010, 4); // drep: little-endian, ASCII, IEEE
  b.writeUInt16LE(24 + stub.length, 8);
  b.writeUInt16LE(0, 10);
  b.writeUInt32LE(callId >>> 0, 12);
  b.writeUInt32LE(stub.length, 16);
  b.writeUInt16LE(contextId, 20);
  b.writeUInt16LE(opnum, 22);
  stub.copy(b, 24);
  return b;
}

/** A copy of a prebuilt PDU with another call id. */
export function withCallId(pdu: Buffer, callId: number): Buffer {
  const b = Buffer.allocUnsafe(pdu.length);
  pdu.copy(b);
  b.writeUInt32LE(callId >>> 0, 12);
  return b;
}

export const pduType = (pdu: Buffer): number => pdu[2];
export const pduCallId = (pdu: Buffer): number => pdu.readUInt32LE(12);
/** Stub of a response PDU without auth trailer. */
export const responseStub = (pdu: Buffer): Buffer => pdu.subarray(24);
export const faultStatus = (pdu: Buffer): number => (pdu.length >= 28 ? pdu.readUInt32LE(24) : 0);

/** Splits a TCP byte stream into PDUs; the common case (whole PDUs per chunk) copies nothing. */
export class PduSplitter {
  private rest: Buffer | undefined;

  constructor(private readonly onPdu: (pdu: Buffer) => void, private readonly maxFrag = 65535) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.rest) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    let off = 0;
    while (buf.length - off >= 16) {
      const len = buf.readUInt16LE(off + 8);
      if (len < 16 || len > this.maxFrag || buf[off] !== 5) throw new Error(`not a DCE/RPC PDU (frag_length ${len})`);
      if (buf.length - off < len) break;
      this.onPdu(buf.subarray(off, off + len));
      off += len;
    }
    if (off < buf.length) this.rest = Buffer.from(buf.subarray(off));
  }
}
