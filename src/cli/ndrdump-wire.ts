/**
 * ndrdump's checks and views that look at the bytes themselves rather than the typed value:
 *
 * - consumedLength: how many bytes a decoder reads. Decoders read front to back and fail
 *   on a short stub, so the shortest prefix that still decodes is exactly what was read; a
 *   binary search over prefixes finds it with the generated decoder as it is.
 * - wireView of WitnessrAsyncNotify out: the counts and lengths as sent (Length,
 *   NumberOfMessages, each record's Length / Reserved / IPAddrInstances), read leniently, so a
 *   capture whose counts disagree (which the strict codec refuses) can still be looked at.
 */
import { MESSAGE_TYPE_NAMES } from '../witness/constants';

/** The number of leading bytes of `stub` that `decode` reads (decode(stub) must succeed). */
export function consumedLength(stub: Buffer, decode: (b: Buffer) => unknown): number {
  // Invariant: stub[0, hi) decodes; every prefix shorter than lo does not.
  let lo = 0;
  let hi = stub.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    let ok = true;
    try {
      decode(stub.subarray(0, mid));
    } catch {
      ok = false;
    }
    if (ok) hi = mid;
    else lo = mid + 1;
  }
  return hi;
}


export interface WireField {
  readonly offset: number;
  readonly field: string;
  readonly value: number | string;
  readonly note?: string;
}

/**
 * WitnessrAsyncNotify's response stub, field by field with offsets (NDR 2.0, little- or
 * big-endian header fields; the MessageBuffer records are always little-endian, MS-SWN
 * 2.2.2.1). Stops with a 'truncated' field where the bytes end.
 */
export function asyncNotifyOutWire(stub: Buffer, littleEndian = true): WireField[] {
  const out: WireField[] = [];
  let p = 0;
  const u32 = (field: string, le = littleEndian, note?: string): number | undefined => {
    p = (p + 3) & ~3;
    if (p + 4 > stub.length) {
      out.push({ offset: p, field, value: 'truncated', note: `${stub.length - p} byte(s) left` });
      return undefined;
    }
    const v = le ? stub.readUInt32LE(p) : stub.readUInt32BE(p);
    out.push({ offset: p, field, value: v, ...(note ? { note } : {}) });
    p += 4;
    return v;
  };
  const ref = u32('pResp (referent)');
  if (ref === undefined) return out;
  if (ref !== 0) {
    const type = u32('MessageType');
    if (type === undefined) return out;
    out[out.length - 1] = { ...out[out.length - 1], note: MESSAGE_TYPE_NAMES[type] ?? 'unknown' };
    const length = u32('Length');
    const count = u32('NumberOfMessages');
    const buf = u32('MessageBuffer (referent)');
    if (length === undefined || count === undefined || buf === undefined) return out;
    if (buf !== 0) {
      const max = u32('MessageBuffer max_count');
      if (max === undefined) return out;
      if (max !== length) out[out.length - 1] = { ...out[out.length - 1], note: `differs from Length ${length}` };
      const start = p;
      const end = Math.min(stub.length, start + max);
      let q = start;
      for (let i = 0; q < end; i++) {
        const rec = `Messages[${i}]`;
        if (q + 4 > end) {
          out.push({ offset: q, field: `${rec}`, value: 'truncated', note: `${end - q} byte(s) left in MessageBuffer` });
          break;
        }
        const len = stub.readUInt32LE(q);
        out.push({ offset: q, field: `${rec}.Length`, value: len, ...(q + len > end ? { note: `past the MessageBuffer end by ${q + len - end}` } : {}) });
        if (type === 1 && q + 8 <= end) {
          out.push({ offset: q + 4, field: `${rec}.ChangeType`, value: stub.readUInt32LE(q + 4) });
          let o = q + 8;
          const stop = Math.min(end, q + Math.max(len, 8));
          while (o + 1 < stop && (stub[o] | stub[o + 1]) !== 0) o += 2;
          out.push({ offset: q + 8, field: `${rec}.ResourceName`, value: stub.toString('utf16le', q + 8, o) });
        } else if (type !== 1 && q + 12 <= end) {
          out.push({ offset: q + 4, field: `${rec}.Reserved`, value: stub.readUInt32LE(q + 4) });
          const k = stub.readUInt32LE(q + 8);
          out.push({ offset: q + 8, field: `${rec}.IPAddrInstances`, value: k, ...(len !== 12 + 24 * k ? { note: `Length for ${k} is ${12 + 24 * k}` } : {}) });
        }
        if (len === 0) break; // a zero Length would never advance
        q += len;
      }
      noteCount(out, count);
      p = start + max;
      if (p > stub.length) {
        out.push({ offset: stub.length, field: 'MessageBuffer', value: 'truncated', note: `${p - stub.length} byte(s) missing` });
        return out;
      }
    }
  }
  u32('ReturnValue');
  if (p < stub.length) out.push({ offset: p, field: '(unread)', value: stub.length - p, note: 'byte(s) after the last field' });
  return out;
}

/** Note on NumberOfMessages when the records found in MessageBuffer differ from it. */
function noteCount(out: WireField[], count: number): void {
  const records = out.filter((f) => /^Messages\[\d+\]\.Length$/.test(f.field)).length;
  if (records === count) return;
  const i = out.findIndex((f) => f.field === 'NumberOfMessages');
  out[i] = { ...out[i], note: `${records} record(s) found in MessageBuffer` };
}

export function formatWire(fields: readonly WireField[]): string {
  return fields.map((f) => `  @${String(f.offset).padStart(4)}  ${f.field} = ${f.value}${f.note ? `  (${f.note})` : ''}`).join('\n');
}
