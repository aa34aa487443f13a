/**
 * The GSS-API checksum an initiator puts in the AP-REQ authenticator (RFC 4121 §4.1.1,
 * checksum type 0x8003) and its context flags (§4.1.1.1, plus DCE_STYLE from MS-KILE 3.2.5.2).
 */
import { DerError } from '../der';

export const GssFlag = {
  DELEG: 0x01,
  MUTUAL: 0x02,
  REPLAY: 0x04,
  SEQUENCE: 0x08,
  CONF: 0x10,
  INTEG: 0x20,
  DCE_STYLE: 0x1000,
} as const;

export interface GssChecksum {
  /** Channel binding hash (16 bytes; zero when the initiator has no channel bindings). */
  readonly bindings: Buffer;
  readonly flags: number;
}

export function parseGssChecksum(c: Buffer): GssChecksum {
  if (c.length < 24) throw new DerError(`GSS checksum of ${c.length} bytes`);
  const lgth = c.readUInt32LE(0);
  if (lgth !== 16) throw new DerError(`GSS checksum binding length ${lgth}`);
  const flags = c.readUInt32LE(20);
  // A delegated credential (DlgOpt, Dlgth, Deleg) may follow; the acceptor does not use it.
  if (flags & GssFlag.DELEG && c.length >= 28) {
    const dlgth = c.readUInt16LE(26);
    if (28 + dlgth > c.length) throw new DerError('GSS checksum delegation runs past its end');
  }
  return { bindings: Buffer.from(c.subarray(4, 20)), flags };
}

export function encodeGssChecksum(flags: number, bindings: Buffer = Buffer.alloc(16)): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(16, 0);
  bindings.copy(b, 4);
  b.writeUInt32LE(flags >>> 0, 20);
  return b;
}
