// The NDR runtime on its own: primitives, alignment, byte order, referent numbering, strings,
// bounds checks, and the MS-SWN overrides' hostile-input handling.
import { NdrError, NdrReader, NdrWriter } from '../../../src/ndr';
import { ipv4ToBytes, ipv6FromBytes, ipv6ToBytes } from '../../../src/ndr/overrides/ip';
import { decodeMessageBuffer, encodeMessageBuffer, interfaceGroupName } from '../../../src/ndr/overrides/witness';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('NdrWriter', () => {
  it('aligns each primitive to its size relative to the stub start', () => {
    const w = new NdrWriter(true, 1);
    w.u8(1); w.u16(2); w.u8(3); w.u32(4); w.u8(5); w.u64(6n); w.i16(-1); w.f64(0.5);
    expect(w.finish()).toEqual(hex('01 00 0200 03 000000 04000000 05 000000 0600000000000000 ffff 000000000000 000000000000e03f'));
  });

  it('numbers referents 0x00020000, 0x00020004, ... and writes 0 for NULL without consuming a number', () => {
    const w = new NdrWriter();
    w.pointer(true); w.pointer(false); w.pointer(true);
    expect(w.finish()).toEqual(hex('00000200 00000000 04000200'));
  });

  it('writes big-endian when asked (GUID Data1-3 too, Data4 raw)', () => {
    const w = new NdrWriter(false);
    w.u16(0x0102); w.u32(0x03040506); w.guid('00112233-4455-6677-8899-aabbccddeeff');
    expect(w.finish()).toEqual(hex('0102 0000 03040506 00112233 4455 6677 8899aabbccddeeff'));
  });

  it('writes [string] pointees as conformant varying arrays with the NUL counted', () => {
    const w = new NdrWriter();
    w.wstring('hi'); w.cstring('ok');
    expect(w.finish()).toEqual(hex('03000000 00000000 03000000 680069000000 0000 03000000 00000000 03000000 6f6b00'));
  });

  it('refuses out-of-range values with an NdrError carrying the offset', () => {
    const w = new NdrWriter();
    w.u32(1);
    expect(() => w.u16(0x10000)).toThrow(/uint16 value out of range: 65536 at offset 4/);
    expect(() => w.u32(-1)).toThrow(NdrError);
    expect(() => w.u32(1.5)).toThrow(NdrError);
    expect(() => w.u64(-1n)).toThrow(NdrError);
    expect(() => w.guid('0011')).toThrow(/not a UUID/);
    expect(() => w.chars('€')).toThrow(/does not fit an 8-bit char string/);
  });

  it('grows from a tiny buffer', () => {
    const w = new NdrWriter(true, 1);
    for (let i = 0; i < 1000; i++) w.u32(i);
    const b = w.finish();
    expect(b.length).toBe(4000);
    expect(b.readUInt32LE(3996)).toBe(999);
  });
});

describe('NdrReader', () => {
  it('reads what the writer wrote, skipping alignment padding', () => {
    const r = new NdrReader(hex('01 00 0200 03 000000 04000000 05 000000 0600000000000000'));
    expect([r.u8(), r.u16(), r.u8(), r.u32(), r.u8(), r.u64()]).toEqual([1, 2, 3, 4, 5, 6n]);
    expect(r.remaining).toBe(0);
  });

  it('fails on truncation with the offset, never a RangeError', () => {
    const r = new NdrReader(hex('010203'));
    r.u8();
    expect(() => r.u32()).toThrow(/truncated stub: need 3 byte\(s\), 2 left at offset 1/);
    expect(() => new NdrReader(hex('00000000 0102')).u64()).toThrow(/truncated stub: need 8 byte\(s\), 6 left at offset 0/);
    expect(() => new NdrReader(hex('01')).guid()).toThrow(NdrError);
    expect(() => new NdrReader(Buffer.alloc(0)).u8()).toThrow(NdrError);
  });

  it('bounds a max_count by the bytes left before anything is allocated', () => {
    expect(() => new NdrReader(hex('ffffffff 00')).count(1)).toThrow(/count 4294967295 exceeds the 1 byte\(s\) left in the stub at offset 0/);
    expect(() => new NdrReader(hex('02000000 00000000')).count(4)).toThrow(/count 2 exceeds/);
    expect(new NdrReader(hex('02000000 00000000')).count(4 / 2)).toBe(2);
  });

  it('checks varying arrays: offset 0, actual ≤ max, actual fits', () => {
    expect(() => new NdrReader(hex('01000000 01000000')).variance(5, 1)).toThrow(/offset 1/);
    expect(() => new NdrReader(hex('00000000 06000000')).variance(5, 1)).toThrow(/actual_count 6 exceeds max_count 5/);
    expect(() => new NdrReader(hex('00000000 05000000 00')).variance(5, 1)).toThrow(/count 5 exceeds/);
  });

  it('reads strings: needs the NUL, accepts a large max_count with a small actual_count', () => {
    expect(new NdrReader(hex('ff000000 00000000 03000000 680069000000')).wstring()).toBe('hi');
    expect(new NdrReader(hex('00000003 00000000 00000003 0068 0069 0000'), false).wstring()).toBe('hi');
    expect(() => new NdrReader(hex('02000000 00000000 02000000 68006900')).wstring()).toThrow(/not terminated by NUL/);
    expect(() => new NdrReader(hex('00000000 00000000 00000000')).wstring()).toThrow(/actual_count 0/);
    expect(() => new NdrReader(hex('05000000 00000000 05000000 6100')).wstring()).toThrow(/count 5 exceeds/);
  });

  it('refuses a NULL [ref] referent and reads GUIDs as lower-case text', () => {
    expect(() => new NdrReader(hex('00000000')).refPointer()).toThrow(/NULL referent id/);
    expect(new NdrReader(hex('33221100 5544 7766 8899AABBCCDDEEFF')).guid()).toBe('00112233-4455-6677-8899-aabbccddeeff');
  });

  it('NdrError carries reason, offset and path and renders them in the message', () => {
    const e = new NdrError('bad', 12, ['b']).within('a');
    expect(e.message).toBe('bad at offset 12 in a.b');
    expect(new NdrError('bad', 3, ['x', '[2]', 'y']).message).toBe('bad at offset 3 in x[2].y');
  });
});

describe('MS-SWN overrides', () => {
  it('converts addresses between text and network-order bytes', () => {
    expect(ipv4ToBytes('192.168.3.44', 0)).toEqual(hex('c0a8032c'));
    for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', '1.2.3.4.5', 'a.b.c.d', '']) expect(() => ipv4ToBytes(bad, 0)).toThrow(NdrError);
    expect(ipv6ToBytes('fe80::1', 0)).toEqual(hex('fe800000000000000000000000000001'));
    expect(ipv6ToBytes('::ffff:10.0.0.1', 0)).toEqual(hex('00000000000000000000ffff0a000001'));
    expect(ipv6ToBytes('1:2:3:4:5:6:7:8', 0)).toEqual(hex('00010002000300040005000600070008'));
    for (const bad of ['1::2::3', 'fe80:::1', '12345::', '1:2:3:4:5:6:7:8:9', 'g::1', ':']) expect(() => ipv6ToBytes(bad, 0)).toThrow(NdrError);
    expect(ipv6FromBytes(hex('20010db8000000000001000000000001'), 0)).toBe('2001:db8::1:0:0:1');
    expect(ipv6FromBytes(Buffer.alloc(16), 0)).toBe('::');
    expect(ipv6FromBytes(hex('00010002000300040005000600070008'), 0)).toBe('1:2:3:4:5:6:7:8');
  });

  it('writes InterfaceGroupName as 260 zero-filled WCHARs and refuses 260 characters', () => {
    const w = new NdrWriter();
    interfaceGroupName.write(w, 'N1');
    const b = w.finish();
    expect(b.length).toBe(520);
    expect(b.subarray(0, 6)).toEqual(hex('4e0031000000'));
    expect(interfaceGroupName.read(new NdrReader(b))).toBe('N1');
    expect(() => interfaceGroupName.write(new NdrWriter(), 'x'.repeat(260))).toThrow(/exceeds 259/);
    expect(() => interfaceGroupName.read(new NdrReader(Buffer.alloc(520, 0x41)))).toThrow(/not NUL-terminated/);
    expect(() => interfaceGroupName.read(new NdrReader(Buffer.alloc(519)))).toThrow(/truncated/);
  });

  it('decodes MessageBuffer records strictly', () => {
    const rc = encodeMessageBuffer({ MessageType: 1, Messages: [{ ChangeType: 1, ResourceName: 'A' }] });
    expect(rc).toEqual(hex('0c000000 01000000 41000000'));
    expect(decodeMessageBuffer(1, 1, rc, 0, rc.length)).toEqual({ MessageType: 1, Messages: [{ ChangeType: 1, ResourceName: 'A' }] });
    // more messages claimed than the buffer holds: an error after the first record, no huge array
    expect(() => decodeMessageBuffer(1, 0xffffffff, rc, 0, rc.length)).toThrow(/record 1 of 4294967295 does not fit/);
    // a record Length of 0 would make no progress
    expect(() => decodeMessageBuffer(1, 1, hex('00000000 01000000 4100 0000'), 0, 12)).toThrow(/Length 0 is invalid/);
    expect(() => decodeMessageBuffer(1, 1, hex('0c000000 01000000 41004100'), 0, 12)).toThrow(/not NUL-terminated/);
    expect(() => decodeMessageBuffer(1, 1, Buffer.concat([rc, hex('00')]), 0, 13)).toThrow(/1 byte\(s\) left in MessageBuffer/);
    expect(() => decodeMessageBuffer(2, 1, hex('0c000000 00000000 02000000'), 0, 12)).toThrow(/does not match 2 IPADDR_INFO entries/);
    expect(() => decodeMessageBuffer(2, 1, hex('24000000 00000000 01000000'), 0, 12)).toThrow(/Length 36 exceeds the 12 byte\(s\) left/);
    expect(() => decodeMessageBuffer(7, 1, rc, 0, rc.length)).toThrow(/unknown MessageType 7/);
    expect(() => encodeMessageBuffer({ MessageType: 1, Messages: [{ ChangeType: 1, ResourceName: 'a\0b' }] })).toThrow(NdrError);
  });
});
