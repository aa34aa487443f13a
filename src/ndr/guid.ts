import { NdrError } from './errors';

const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

export function isGuidText(s: unknown): s is string {
  return typeof s === 'string' && GUID_RE.test(s);
}

/**
 * Write a UUID in its NDR form at buf[off]: Data1 (u32), Data2, Data3 (u16) in the given
 * byte order, Data4 as 8 raw bytes (C706 appendix A).
 */
export function writeGuid(buf: Buffer, off: number, text: string, littleEndian: boolean, pos: number): void {
  if (!isGuidText(text)) throw new NdrError(`not a UUID: ${JSON.stringify(text)}`, pos);
  const d1 = parseInt(text.slice(0, 8), 16);
  const d2 = parseInt(text.slice(9, 13), 16);
  const d3 = parseInt(text.slice(14, 18), 16);
  if (littleEndian) {
    buf.writeUInt32LE(d1, off); buf.writeUInt16LE(d2, off + 4); buf.writeUInt16LE(d3, off + 6);
  } else {
    buf.writeUInt32BE(d1, off); buf.writeUInt16BE(d2, off + 4); buf.writeUInt16BE(d3, off + 6);
  }
  const rest = text.slice(19, 23) + text.slice(24);
  for (let i = 0; i < 8; i++) buf[off + 8 + i] = parseInt(rest.slice(2 * i, 2 * i + 2), 16);
}

/** Read a UUID written by writeGuid; lower-case canonical text. */
export function readGuid(buf: Buffer, off: number, littleEndian: boolean): string {
  const d1 = littleEndian ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
  const d2 = littleEndian ? buf.readUInt16LE(off + 4) : buf.readUInt16BE(off + 4);
  const d3 = littleEndian ? buf.readUInt16LE(off + 6) : buf.readUInt16BE(off + 6);
  let s = d1.toString(16).padStart(8, '0') + '-' + d2.toString(16).padStart(4, '0') + '-' +
    d3.toString(16).padStart(4, '0') + '-' + HEX[buf[off + 8]] + HEX[buf[off + 9]] + '-';
  for (let i = 10; i < 16; i++) s += HEX[buf[off + i]];
  return s;
}
