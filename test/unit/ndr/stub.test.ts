// What generated codecs leave to the runtime: the path to the field being coded (coder.ts)
// and coding one whole stub (stub.ts): one catch, errors named by stub and field.
import { NdrError, NdrReader, NdrStubCodec, NdrStubCodec64, NdrWriter } from '../../../src/ndr';
import { MAX_DEPTH } from '../../../src/ndr/coder';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('the field trail', () => {
  it('names the field or element at each level and restores the outer one on leave', () => {
    const w = new NdrWriter();
    w.field('List');
    w.enter(); // the struct List points to
    w.field('Items');
    w.enter(); // the array
    w.element(3);
    w.enter(); // its element
    w.field('Flags');
    expect(w.path()).toEqual(['List', 'Items', '[3]', 'Flags']);
    w.leave();
    expect(w.path()).toEqual(['List', 'Items', '[3]']);
    w.leave();
    expect(w.path()).toEqual(['List', 'Items']);
    w.field('Count');
    expect(w.path()).toEqual(['List', 'Count']);
    w.leave();
    expect(w.path()).toEqual(['List']);
  });

  it('leaves out a level that has not named a field yet', () => {
    const r = new NdrReader(Buffer.alloc(0));
    r.field('u');
    r.enter();
    expect(r.path()).toEqual(['u']);
  });

  it('bounds the nesting at MAX_DEPTH levels', () => {
    const r = new NdrReader(Buffer.alloc(0));
    for (let i = 0; i < MAX_DEPTH; i++) r.enter();
    expect(() => r.enter()).toThrow(/nested deeper than 256 levels/);
  });
});

describe('NdrStubCodec', () => {
  interface Pair { a: number; b: { c: number }[] }
  const write = (w: NdrWriter, v: Pair): void => {
    w.field('a');
    w.u16(v.a);
    w.field('b');
    w.u32(v.b.length);
    w.enter();
    for (let i = 0; i < v.b.length; i++) {
      w.element(i);
      w.enter();
      w.field('c');
      w.u16(v.b[i].c);
      w.leave();
    }
    w.leave();
  };
  const read = (r: NdrReader): Pair => {
    r.field('a');
    const a = r.u16();
    r.field('b');
    const n = r.count(1);
    const b: { c: number }[] = [];
    r.enter();
    for (let i = 0; i < n; i++) {
      r.element(i);
      r.enter();
      r.field('c');
      b.push({ c: r.u16() });
      r.leave();
    }
    r.leave();
    return { a, b };
  };
  const codec = new NdrStubCodec<Pair>('op.in', write, read);

  it('encodes and decodes through the functions it was given, in either byte order', () => {
    const v = { a: 1, b: [{ c: 2 }, { c: 3 }] };
    expect(codec.encode(v)).toEqual(hex('0100 0000 02000000 0200 0300'));
    expect(codec.decode(codec.encode(v, false), false)).toEqual(v);
  });

  it('names the stub and the field in every error, encoding and decoding', () => {
    expect(() => codec.encode({ a: 1, b: [{ c: 2 }, { c: 70000 }] })).toThrow(/uint16 value out of range: 70000 at offset 10 in op\.in\.b\[1\]\.c$/);
    expect(() => codec.decode(hex('0100 0000 02000000 0200 03'))).toThrow(/truncated stub: need 2 byte\(s\), 1 left at offset 10 in op\.in\.b\[1\]\.c$/);
    let caught: unknown;
    try {
      codec.decode(hex('0100'));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NdrError);
    expect((caught as NdrError).path).toEqual(['op.in', 'b']);
    expect((caught as NdrError).offset).toBe(2);
  });

  it('turns anything else thrown into an NdrError (a value of the wrong shape)', () => {
    expect(() => codec.encode({ a: 1 } as Pair)).toThrow(NdrError);
    expect(() => codec.encode({ a: 1 } as Pair)).toThrow(/^internal codec error: .* at offset 2 in op\.in\.b$/);
  });

  it('keeps an error\'s own path below the stub\'s', () => {
    const inner = new NdrStubCodec<number>('t.out', (w) => {
      w.field('buf');
      throw new NdrError('bad record', 0, ['MessageBuffer']);
    }, () => 0);
    expect(() => inner.encode(0)).toThrow(/bad record at offset 0 in t\.out\.buf\.MessageBuffer$/);
  });

  it('codes NDR64 with the NDR64 writer and reader (8-byte counts)', () => {
    const c64 = new NdrStubCodec64<Pair>('op.in', (w, v) => { w.conformance(v.b.length); }, (r) => ({ a: r.conformance(), b: [] }));
    expect(c64.encode({ a: 0, b: [{ c: 1 }] })).toEqual(hex('0100000000000000'));
    expect(c64.decode(hex('0500000000000000'))).toEqual({ a: 5, b: [] });
  });

  it('starts each encode with room for the largest stub so far: a large one does not stick', () => {
    const big = { a: 1, b: Array.from({ length: 40000 }, (_, i) => ({ c: i & 0xffff })) };
    expect(codec.encode(big).length).toBe(8 + 2 * 40000);
    expect(codec.encode({ a: 1, b: [] })).toEqual(hex('0100 0000 00000000'));
  });
});
