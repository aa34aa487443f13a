// Generator golden tests: an IDL snippet and the exact NDR bytes it must produce.
import { NdrError } from '../../../src/ndr';
import { compileIdl, hex } from './compile';
import { dispatchCall } from '../../helpers/calls';


const iface = (body: string, types = ''): string =>
  `${types}\n[uuid(12345678-1234-1234-1234-123456789abc), version(1.0), pointer_default(unique)]\ninterface t {\n${body}\n}\n`;

describe('alignment', () => {
  const m = compileIdl(iface('void f([in] A x);', 'typedef struct { small a; long b; short c; hyper d; } A;'));
  const v = { x: { a: 1, b: 2, c: 3, d: 4n } };

  it('aligns every primitive to its size and the struct to its largest member', () => {
    expect(m.encodeFIn(v)).toEqual(hex('01000000 02000000 0300 000000000000 0400000000000000'));
    expect(m.decodeFIn(m.encodeFIn(v))).toEqual(v);
  });

  it('uses the caller’s byte order (big-endian drep)', () => {
    const be = m.encodeFIn(v, false);
    expect(be).toEqual(hex('01000000 00000002 0003 000000000000 0000000000000004'));
    expect(m.decodeFIn(be, false)).toEqual(v);
  });

  it('aligns relative to the stub start after earlier parameters', () => {
    const m2 = compileIdl(iface('void g([in] byte b, [in] hyper h, [in] short s, [in] long l);'));
    expect(m2.encodeGIn({ b: 0xaa, h: 1n, s: 2, l: 3 })).toEqual(hex('aa00000000000000 0100000000000000 0200 0000 03000000'));
  });
});

describe('pointers', () => {
  it('writes each top-level [in] pointee right after its referent', () => {
    const m = compileIdl(iface('void f([in, unique] long *a, [in, unique] long *b, [in] long *c);'));
    expect(m.encodeFIn({ a: 1, b: 2, c: 3 })).toEqual(hex('00000200 01000000 04000200 02000000 03000000'));
    expect(m.encodeFIn({ a: null, b: 2, c: 3 })).toEqual(hex('00000000 00000200 02000000 03000000'));
    expect(m.decodeFIn(hex('00000000 00000200 02000000 03000000'))).toEqual({ a: null, b: 2, c: 3 });
  });

  it('defers embedded pointees depth-first, after the containing construct', () => {
    const m = compileIdl(iface('void f([in] S s);', 'typedef struct { long *inner; } N;\ntypedef struct { N *a; long *b; } S;'));
    const v = { s: { a: { inner: 7 }, b: 9 } };
    expect(m.encodeFIn(v)).toEqual(hex('00000200 04000200 08000200 07000000 09000000'));
    expect(m.decodeFIn(m.encodeFIn(v))).toEqual(v);
  });

  it('writes array element scalars first, then each element’s pointees', () => {
    const m = compileIdl(iface('void f([in] long n, [in, size_is(n)] P arr[]);', 'typedef struct { long *p; short s; } P;'));
    const v = { n: 2, arr: [{ p: 1, s: 5 }, { p: null, s: 6 }] };
    expect(m.encodeFIn(v)).toEqual(hex('02000000 02000000 00000200 0500 0000 00000000 0600 0000 01000000'));
    expect(m.decodeFIn(m.encodeFIn(v))).toEqual(v);
  });

  it('rejects a NULL embedded [ref] pointer on decode', () => {
    const m = compileIdl(iface('void f([in] R r);', 'typedef struct { [ref] long *p; } R;'));
    expect(m.encodeFIn({ r: { p: 4 } })).toEqual(hex('00000200 04000000'));
    expect(() => m.decodeFIn(hex('00000000'))).toThrow(/NULL referent id for a \[ref\] pointer at offset 0 in f\.in\.r\.p/);
  });

  it('handles a top-level ref pointer to a unique pointer ([out] T **)', () => {
    const m = compileIdl(iface('long f([out] L **pp);', 'typedef struct { long n; [size_is(n)] long *x; } L;'));
    const v = { pp: { n: 2, x: [7, 8] }, ReturnValue: 0 };
    expect(m.encodeFOut(v)).toEqual(hex('00000200 02000000 04000200 02000000 07000000 08000000 00000000'));
    expect(m.decodeFOut(m.encodeFOut(v))).toEqual(v);
  });
});

describe('arrays', () => {
  it('hoists the conformance of a conformant struct to its start', () => {
    const m = compileIdl(iface('void f([in] C *c);', 'typedef struct { long n; [size_is(n)] short x[]; } C;'));
    expect(m.encodeFIn({ c: { n: 2, x: [1, 2] } })).toEqual(hex('02000000 02000000 0100 0200'));
    expect(m.decodeFIn(hex('02000000 02000000 0100 0200'))).toEqual({ c: { n: 2, x: [1, 2] } });
  });

  it('writes offset and actual_count for a varying fixed array', () => {
    const m = compileIdl(iface('void f([in] V v);', 'typedef struct { long n; [length_is(n)] long x[10]; } V;'));
    expect(m.encodeFIn({ v: { n: 2, x: [5, 6] } })).toEqual(hex('02000000 00000000 02000000 05000000 06000000'));
    expect(() => m.encodeFIn({ v: { n: 11, x: new Array(11).fill(0) } })).toThrow(NdrError);
  });

  it('writes fixed arrays inline, byte arrays as Buffers', () => {
    const m = compileIdl(iface('void f([in] F v);', 'typedef struct { byte b[3]; short s[2]; } F;'));
    const v = { v: { b: Buffer.from([1, 2, 3]), s: [4, 5] } };
    expect(m.encodeFIn(v)).toEqual(hex('010203 00 0400 0500'));
    expect(m.decodeFIn(m.encodeFIn(v))).toEqual(v);
  });

  it('encodes a conformant varying [out] array sized by an [in] parameter', () => {
    const m = compileIdl(iface('void f([in] long max, [out] long *num, [out, size_is(max), length_is(*num)] long items[]);'));
    const out = { num: 1, items: [9], max: 4 };
    expect(m.encodeFOut(out)).toEqual(hex('01000000 04000000 00000000 01000000 09000000'));
    expect(m.decodeFOut(m.encodeFOut(out))).toEqual(out);
    expect(m.encodeFOut({ num: 1, items: [9] })).toEqual(hex('01000000 01000000 00000000 01000000 09000000'));
  });

  it('checks counts on decode against the stub size and the IDL expression', () => {
    const m = compileIdl(iface('void f([in] long n, [in, size_is(n)] long a[]);'));
    expect(() => m.decodeFIn(hex('02000000 ffffffff'))).toThrow(/count 4294967295 exceeds the 0 byte\(s\) left/);
    expect(() => m.decodeFIn(hex('02000000 01000000 05000000'))).toThrow(/max_count \(size_is\(n\)\) is 1 on the wire but the IDL expression gives 2/);
  });
});

describe('strings', () => {
  const m = compileIdl(iface('void f([in] St s, [in, string] wchar_t *top);', 'typedef struct { [string] wchar_t *name; [string] char tag[8]; } St;'));

  it('encodes embedded conformant-varying and varying strings', () => {
    expect(m.encodeFIn({ s: { name: 'ab', tag: 'xy' }, top: '' })).toEqual(hex(`
      00000200 00000000 03000000 787900 00
      03000000 00000000 03000000 610062000000
      0000 01000000 00000000 01000000 0000`));
  });

  it('round-trips non-ASCII UTF-16 and decodes big-endian wchar_t', () => {
    const v = { s: { name: 'Zürich-€', tag: '1234567' }, top: 'x' };
    expect(m.decodeFIn(m.encodeFIn(v))).toEqual(v);
    expect(m.decodeFIn(m.encodeFIn(v, false), false)).toEqual(v);
  });

  it('refuses a string that overflows its array or lacks its NUL', () => {
    expect(() => m.encodeFIn({ s: { name: '', tag: '12345678' }, top: '' })).toThrow(/does not fit/);
    const bad = m.encodeFIn({ s: { name: 'ab', tag: '' }, top: '' });
    bad[bad.length - 2] = 0x41; // last WCHAR of `top` no longer NUL
    expect(() => m.decodeFIn(bad)).toThrow(/not terminated by NUL.*in f\.in\.top/);
  });
});

describe('unions and enums', () => {
  const m = compileIdl(iface('void f([in] SU s);', `
    typedef [switch_type(short)] union { [case(1)] long l; [case(2)] hyper h; [case(3)] long *p; [default] ; } U;
    typedef struct { short level; [switch_is(level)] U u; } SU;`));

  it('writes the discriminant, then the arm aligned to its own type (NDR 2.0)', () => {
    expect(m.encodeFIn({ s: { level: 2, u: { h: 5n } } })).toEqual(hex('0200 0200 00000000 0500000000000000'));
    expect(m.encodeFIn({ s: { level: 1, u: { l: 7 } } })).toEqual(hex('0100 0100 07000000'));
    expect(m.encodeFIn({ s: { level: 9, u: {} } })).toEqual(hex('0900 0900'));
  });

  it('defers a pointer inside an arm and round-trips every arm', () => {
    expect(m.encodeFIn({ s: { level: 3, u: { p: 6 } } })).toEqual(hex('0300 0300 00000200 06000000'));
    for (const s of [{ level: 1, u: { l: 7 } }, { level: 2, u: { h: 5n } }, { level: 3, u: { p: null } }, { level: 3, u: { p: 1 } }, { level: 4, u: {} }]) {
      expect(m.decodeFIn(m.encodeFIn({ s }))).toEqual({ s });
    }
  });

  it('refuses a discriminant that disagrees with switch_is, or has no arm', () => {
    expect(() => m.decodeFIn(hex('0100 0200 00000000 0500000000000000'))).toThrow(/discriminant 2 does not match its switch_is value 1 at offset 2 in f\.in\.s\.u/);
    const strict = compileIdl(iface('void f([in] long k, [in, switch_is(k)] W *w);', 'typedef [switch_type(long)] union { [case(1)] long a; } W;'));
    expect(strict.encodeFIn({ k: 1, w: { a: 3 } })).toEqual(hex('01000000 01000000 03000000'));
    expect(() => strict.decodeFIn(hex('02000000 02000000 03000000'))).toThrow(/no arm for discriminant 2 at offset 4 in f\.in\.w/);
    expect(() => strict.encodeFIn({ k: 2, w: { a: 3 } })).toThrow(NdrError);
  });

  it('writes enums as 16 bits, [v1_enum] as 32 bits, and exports their members', () => {
    const e = compileIdl(iface('void f([in] E e);', 'typedef enum { E0, E5 = 5, E6 } E16;\ntypedef [v1_enum] enum { F0, F1 } E32;\ntypedef struct { E16 a; E32 b; } E;'));
    expect(e.encodeFIn({ e: { a: e.E6, b: e.F1 } })).toEqual(hex('0600 0000 01000000'));
    expect(e.E5).toBe(5);
  });

  it('checks [range] on decode', () => {
    const r = compileIdl(iface('void f([in, range(1, 10)] long n);'));
    expect(r.decodeFIn(hex('0a000000'))).toEqual({ n: 10 });
    expect(() => r.decodeFIn(hex('0b000000'))).toThrow(/outside range\(1, 10\)/);
  });
});

describe('interface, constants, context handles, GUIDs, hyper', () => {
  const m = compileIdl(iface(`
    const long MAX = 4 * 2 + 1;
    const hyper BIG = 0x100000000;
    typedef [context_handle] void *H;
    long open([in] GUID *id, [out] H *h);
    void close([in, out] H *h);
    void Opnum2NotUsedOnWire(void);
    void big([in] unsigned hyper v, [in] boolean b, [in] double d);`));

  it('emits constants, syntax, opnums and keeps placeholder opnums', () => {
    expect(m.MAX).toBe(9);
    expect(m.BIG).toBe(0x100000000);
    expect(m.t_SYNTAX).toEqual({ uuid: '12345678-1234-1234-1234-123456789abc', major: 1, minor: 0 });
    expect(m.t_OPNUMS).toEqual({ open: 0, close: 1, big: 3 });
    expect(m.t_OPERATION_NAMES).toEqual(['open', 'close', 'Opnum2NotUsedOnWire', 'big']);
  });

  it('codes GUIDs in NDR order and context handles as 20 bytes', () => {
    expect(m.encodeOpenIn({ id: '00112233-4455-6677-8899-aabbccddeeff' })).toEqual(hex('33221100 5544 7766 8899aabbccddeeff'));
    expect(m.encodeOpenIn({ id: '00112233-4455-6677-8899-aabbccddeeff' }, false)).toEqual(hex('00112233 4455 6677 8899aabbccddeeff'));
    const h = { attributes: 1, uuid: 'ffffffff-0000-1111-2222-333333333333' };
    expect(m.encodeOpenOut({ h, ReturnValue: 5 })).toEqual(hex('01000000 ffffffff 0000 1111 2222333333333333 05000000'));
    expect(m.decodeCloseOut(m.encodeCloseOut({ h }))).toEqual({ h });
    expect(() => m.encodeOpenIn({ id: 'not-a-guid' })).toThrow(/not a UUID/);
  });

  it('codes hyper as bigint, boolean as one byte, double as 8-aligned', () => {
    const v = { v: 0xfedcba9876543210n, b: true, d: 1.5 };
    expect(m.encodeBigIn(v)).toEqual(hex('1032547698badcfe 01 00000000000000 000000000000f83f'));
    expect(m.decodeBigIn(m.encodeBigIn(v))).toEqual(v);
  });

  it('dispatches to the server and faults placeholders and unknown opnums', async () => {
    const srv = { open: () => ({ h: { attributes: 0, uuid: '00000000-0000-0000-0000-000000000000' }, ReturnValue: 0 }), close: () => ({ h: { attributes: 0, uuid: '00000000-0000-0000-0000-000000000000' } }), big: () => ({}) };
    const i = m.createTInterface(srv);
    expect((await dispatchCall(i, 0, m.encodeOpenIn({ id: '00000000-0000-0000-0000-000000000000' }), {})).length).toBe(24);
    await expect(dispatchCall(i, 2, Buffer.alloc(0), {})).rejects.toEqual(expect.objectContaining({ status: 0x1c010002 }));
    await expect(dispatchCall(i, 99, Buffer.alloc(0), {})).rejects.toEqual(expect.objectContaining({ status: 0x1c010002 }));
  });
});

describe('recursive types', () => {
  const m = compileIdl(iface('void f([in, unique] node *head);', 'typedef struct _node { long v; [unique] struct _node *next; } node;'));

  it('encodes a linked list with each next node deferred after its parent', () => {
    const v = { head: { v: 1, next: { v: 2, next: null } } };
    expect(m.encodeFIn(v)).toEqual(hex('00000200 01000000 04000200 02000000 00000000'));
    expect(m.decodeFIn(m.encodeFIn(v))).toEqual(v);
  });

  it('bounds the nesting of a hostile chain instead of exhausting the stack', () => {
    const levels = 5000;
    const b = Buffer.alloc(4 + 8 * levels);
    b.writeUInt32LE(0x20000, 0);
    for (let i = 0; i < levels; i++) { b.writeUInt32LE(i, 4 + 8 * i); b.writeUInt32LE(0x20000 + 4 * (i + 1), 8 + 8 * i); }
    expect(() => m.decodeFIn(b)).toThrow(/nested deeper than 256 levels/);
    const cyclic: { v: number; next: unknown } = { v: 1, next: null };
    cyclic.next = cyclic;
    expect(() => m.encodeFIn({ head: cyclic })).toThrow(/nested deeper than 256 levels/);
  });
});

describe('encapsulated unions', () => {
  const m = compileIdl(iface('void f([in] E e);', 'typedef union switch (short kind) arm { case 1: long a; case 2: case 3: short b; default: ; } E;'));

  it('codes union switch(...) as the discriminant (once) and the selected arm', () => {
    expect(m.encodeFIn({ e: { kind: 1, arm: { a: 9 } } })).toEqual(hex('0100 0000 09000000'));
    expect(m.encodeFIn({ e: { kind: 3, arm: { b: 7 } } })).toEqual(hex('0300 0700'));
    expect(m.encodeFIn({ e: { kind: 8, arm: {} } })).toEqual(hex('0800'));
    for (const e of [{ kind: 1, arm: { a: 9 } }, { kind: 2, arm: { b: 1 } }, { kind: 5, arm: {} }]) expect(m.decodeFIn(m.encodeFIn({ e }))).toEqual({ e });
  });
});

describe('error paths', () => {
  const m = compileIdl(iface('void f([in] long n, [in, size_is(n)] P arr[], [in] SU s);', `
    typedef struct { long *p; short s; } P;
    typedef [switch_type(short)] union { [case(1)] long l; [case(3)] long *q; } U;
    typedef struct { short level; [switch_is(level)] U u; } SU;`));
  const v = { n: 2, arr: [{ p: 1, s: 5 }, { p: 2, s: 6 }], s: { level: 3, u: { q: 4 } } };

  it('name the array element and the member, encoding and decoding, in either phase', () => {
    expect(m.decodeFIn(m.encodeFIn(v))).toEqual(v);
    expect(() => m.encodeFIn({ ...v, arr: [v.arr[0], { p: 2, s: 70000 }] })).toThrow(/int16 value out of range: 70000 at offset \d+ in f\.in\.arr\[1\]\.s$/);
    expect(() => m.encodeFIn({ ...v, arr: [v.arr[0], { p: 2 ** 40, s: 6 }] })).toThrow(/int32 value out of range: 1099511627776 at offset \d+ in f\.in\.arr\[1\]\.p$/);
    const stub = m.encodeFIn(v);
    // the stub ends with arr[1]'s pointee (long 2), then s: 0300 0300 00000200 04000000
    const cut = stub.subarray(0, stub.length - 12 - 2);
    expect(() => m.decodeFIn(cut)).toThrow(/truncated stub: need 4 byte\(s\), 2 left at offset \d+ in f\.in\.arr\[1\]\.p$/);
  });

  it('name the union arm', () => {
    expect(() => m.encodeFIn({ ...v, s: { level: 1, u: { l: 'x' } } })).toThrow(/value out of range: x at offset \d+ in f\.in\.s\.u\.l$/);
    expect(() => m.encodeFIn({ ...v, s: { level: 3, u: { q: 1.5 } } })).toThrow(/value out of range: 1\.5 at offset \d+ in f\.in\.s\.u\.q$/);
    expect(() => m.encodeFIn({ ...v, s: { level: 1, u: { q: 1 } } })).toThrow(/selects arm l, which the value lacks at offset \d+ in f\.in\.s\.u$/);
  });
});
