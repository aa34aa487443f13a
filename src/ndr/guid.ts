import { NdrError } from './errors';

const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

export function isGuidText(s: unknown): s is string {
  return typeof s === 'string' && GUID_RE.test(s);
}

/** Hex digit values by char code (-1: not a hex digit). */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE[i.toString(16).charCodeAt(0)] = i;
  HEX_VALUE[i.toString(16).toUpperCase().charCodeAt(0)] = i;
}
/** Where each of the 16 bytes' two hex digits start in 8-4-4-4-12 text. */
const BYTE_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
/** Byte order of the NDR form for each text byte: Data1..3 swapped when little-endian. */
const LE_ORDER = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];

function hexByte(s: string, i: number): number {
  const a = s.charCodeAt(i);
  const b = s.charCodeAt(i + 1);
  const hi = a < 128 ? HEX_VALUE[a] : -1;
  const lo = b < 128 ? HEX_VALUE[b] : -1;
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

/**
 * Write a UUID in its NDR form at buf[off]: Data1 (u32), Data2, Data3 (u16) in the given
 * byte order, Data4 as 8 raw bytes (C706 appendix A). Parsed by table, not by regex and
 * parseInt: every context handle and interface id goes through here (ept_map profile).
 */
export function writeGuid(buf: Buffer, off: number, text: string, littleEndian: boolean, pos: number): void {
  if (typeof text !== 'string' || text.length !== 36 || text.charCodeAt(8) !== 45 || text.charCodeAt(13) !== 45 ||
    text.charCodeAt(18) !== 45 || text.charCodeAt(23) !== 45) {
    throw new NdrError(`not a UUID: ${JSON.stringify(text)}`, pos);
  }
  for (let i = 0; i < 16; i++) {
    const v = hexByte(text, BYTE_AT[i]);
    if (v < 0) throw new NdrError(`not a UUID: ${JSON.stringify(text)}`, pos);
    buf[off + (littleEndian ? LE_ORDER[i] : i)] = v;
  }
}

/** Read a UUID written by writeGuid; lower-case canonical text. */
export function readGuid(buf: Buffer, off: number, littleEndian: boolean): string {
  const b = (i: number): string => HEX[buf[off + (littleEndian ? LE_ORDER[i] : i)]];
  return b(0) + b(1) + b(2) + b(3) + '-' + b(4) + b(5) + '-' + b(6) + b(7) + '-' + b(8) + b(9) + '-' +
    b(10) + b(11) + b(12) + b(13) + b(14) + b(15);
}
