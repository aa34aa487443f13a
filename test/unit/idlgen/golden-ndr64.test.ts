// Generator golden tests for the NDR64 back end (MS-RPCE 2.2.5): an IDL snippet and the exact
// bytes each syntax must produce, written out by hand from the spec's rules (8-byte referent
// ids and counts aligned to 8, 32-bit enums, unions aligned to their largest arm around the
// discriminant, structures padded at the end to their alignment).
import { NdrError, NdrReader64, NdrWriter64 } from '../../../src/ndr';
import { compileIdl, hex } from './compile';

const iface = (body: string, types = ''): string =>
  `${types}\n[uuid(12345678-1234-1234-1234-123456789abc), version(1.0), pointer_default(unique)]\ninterface t {\n${body}\n}\n`;

/** Both syntaxes, and the NDR64 bytes decode back to the value. */
function both(m: any, v: unknown, ndr: string, ndr64: string): void {
  expect(m.encodeFIn(v)).toEqual(hex(ndr));
  expect(m.encodeFInNdr64(v)).toEqual(hex(ndr64));
  expect(m.decodeFInNdr64(hex(ndr64))).toEqual(v);
  expect(m.decodeFIn(hex(ndr))).toEqual(v);
}

describe('NDR64 back end', () => {
  it('primitives align as in NDR 2.0; a pointer-free struct is padded at its end', () => {
    const m = compileIdl(iface('void f([in] A x, [in] byte after);', 'typedef struct { hyper d; long b; } A;'));
    both(m, { x: { d: 4n, b: 2 }, after: 7 }, '0400000000000000 02000000 07', '0400000000000000 02000000 00000000 07');
  });

  it('referent ids are 8 bytes, aligned to 8', () => {
    const m = compileIdl(iface('void f([in, unique] long *a, [in, unique] long *b, [in] long *c);'));
    both(m, { a: 1, b: 2, c: 3 }, '00000200 01000000 04000200 02000000 03000000',
      '0000020000000000 01000000 00000000 0400020000000000 02000000 03000000');
    both(m, { a: null, b: 2, c: 3 }, '00000000 00000200 02000000 03000000', '0000000000000000 0000020000000000 02000000 03000000');
  });

  it('conformant arrays: 8-byte max_count; elements with pointers are 8-aligned and padded', () => {
    const m = compileIdl(iface('void f([in] long n, [in, size_is(n)] P arr[]);', 'typedef struct { long *p; short s; } P;'));
    both(m, { n: 2, arr: [{ p: 1, s: 5 }, { p: null, s: 6 }] },
      '02000000 02000000 00000200 0500 0000 00000000 0600 0000 01000000',
      '02000000 00000000 0200000000000000 0000020000000000 0500 000000000000 0000000000000000 0600 000000000000 01000000');
  });

  it('[string] pointers: max_count, offset and actual_count are 8 bytes each', () => {
    const m = compileIdl(iface('void f([in, string, unique] wchar_t *s);'));
    both(m, { s: 'ab' }, '00000200 03000000 00000000 03000000 6100 6200 0000',
      '0000020000000000 0300000000000000 0000000000000000 0300000000000000 6100 6200 0000');
  });

  it('enums are 32-bit', () => {
    const m = compileIdl(iface('void f([in] E e, [in] short s);', 'typedef enum { E_A = 1, E_B = 2 } E;'));
    both(m, { e: 2, s: 3 }, '0200 0300', '02000000 0300');
  });

  it('a union is aligned to its largest arm before and after the discriminant', () => {
    const m = compileIdl(iface('void f([in] long d, [in, switch_is(d)] U u);', 'typedef [switch_type(long)] union { [case(1)] hyper h; [case(2)] short s; } U;'));
    both(m, { d: 1, u: { h: 5n } }, '01000000 01000000 0500000000000000', '01000000 00000000 01000000 00000000 0500000000000000');
    both(m, { d: 2, u: { s: 7 } }, '02000000 02000000 0700', '02000000 00000000 02000000 00000000 0700');
  });

  it('a conformant struct: the 8-byte max_count first, then the body, padded at the end', () => {
    const m = compileIdl(iface('void f([in] C *c, [in] byte after);', 'typedef struct { long n; [size_is(n)] byte b[]; } C;'));
    both(m, { c: { n: 3, b: Buffer.from([1, 2, 3]) }, after: 5 }, '03000000 03000000 010203 05', '0300000000000000 03000000 010203 00 05');
  });
});

describe('NDR64 runtime', () => {
  it('refuses a count above 2^32 and a NULL embedded [ref] referent, at the right offset', () => {
    expect(() => new NdrReader64(hex('0000000001000000')).conformance()).toThrow(/64-bit count 0x100000000 is out of range at offset 0/);
    expect(() => new NdrReader64(hex('00000000 00000000 0000000000000000'), true, 4).refPointer()).toThrow(NdrError);
    expect(() => new NdrReader64(hex('00000000 00000000 0000000000000000'), true, 4).refPointer()).toThrow(/NULL referent id for a \[ref\] pointer at offset 8/);
    expect(new NdrReader64(hex('0000000000000001'), false).conformance()).toBe(1);
    expect(new NdrReader64(hex('0000000100000000')).pointer()).not.toBe(0); // a referent id with only high bits set
  });

  it('writes referent ids and counts as 8 bytes in either byte order', () => {
    const w = new NdrWriter64(false);
    w.u16(1);
    w.pointer(true);
    w.variance(3);
    expect(w.finish()).toEqual(hex('0001 000000000000 0000000000020000 0000000000000000 0000000000000003'));
  });
});
