import { decodeBind, decodeHeader, decodeRequest, decodeSecTrailer, encodeBindAck, encodeBindNak, encodeFault } from '../../../src/rpc/pdu';
import { uuidFromWire, uuidToWire, PduError } from '../../../src/rpc/wire';
import type { AuthState } from '../../../src/rpc/security';
import { buildResponseFragments } from '../../../src/rpc/pdu';
import { popVerificationTrailer, checkVerificationTrailer } from '../../../src/rpc/verification-trailer';
import { AuthLevel } from '../../../src/rpc/security';
import { bind, request, parse, NDR, BTFN3 } from '../../integration/rpc/helpers/pdu-builder';

const W = { uuid: 'ccd8c074-d0e5-4a40-92b4-d074faa6ba28', major: 1, minor: 1 };

describe('uuid on the wire', () => {
  it('round-trips in both byte orders and matches the NDR layout', () => {
    expect(uuidToWire(W.uuid, true).toString('hex')).toBe('74c0d8cce5d0404a92b4d074faa6ba28');
    expect(uuidToWire(W.uuid, false).toString('hex')).toBe('ccd8c074d0e54a4092b4d074faa6ba28');
    for (const le of [true, false]) expect(uuidFromWire(uuidToWire(W.uuid, le), 0, le)).toBe(W.uuid);
    expect(() => uuidToWire('nope', true)).toThrow();
  });
});

describe('decoding', () => {
  it('decodes a bind in both byte orders, BTFN raw bytes included', () => {
    for (const le of [true, false]) {
      const pdu = bind({ le, callId: 3, maxXmit: 4280, maxRecv: 4280, assocGroup: 0x1234, contexts: [{ id: 0, abstract: W, transfers: [NDR] }, { id: 1, abstract: W, transfers: [BTFN3] }] });
      const h = decodeHeader(pdu);
      expect([h.le, h.ptype, h.callId, h.fragLength]).toEqual([le, 11, 3, pdu.length]);
      const b = decodeBind(pdu, h, h.fragLength);
      expect([b.maxXmitFrag, b.maxRecvFrag, b.assocGroupId]).toEqual([4280, 4280, 0x1234]);
      expect(b.contexts[0]).toMatchObject({ contextId: 0, abstractSyntax: W, transferSyntaxes: [NDR] });
      expect([...b.contexts[1].transferRaw[0]]).toEqual([3, 0, 0, 0, 0, 0, 0, 0]);
    }
  });

  it('throws PduError on truncation and impossible auth lengths', () => {
    const pdu = bind({ contexts: [{ id: 0, abstract: W, transfers: [NDR] }] });
    const h = decodeHeader(pdu);
    expect(() => decodeBind(pdu, h, 40)).toThrow(PduError);
    const req = request({ callId: 1, opnum: 0, stub: Buffer.alloc(4) });
    const rh = { ...decodeHeader(req), authLength: 200 };
    expect(() => decodeSecTrailer(req, rh, 24)).toThrow(/auth_length/);
    expect(() => decodeHeader(Buffer.alloc(4))).toThrow(PduError);
    expect(decodeRequest(req, decodeHeader(req)).stubOffset).toBe(24);
  });
});

describe('encoding', () => {
  it('bind_ack: secondary address with NUL, padding to 4, results, auth trailer', () => {
    const b = encodeBindAck({
      ptype: 12, callId: 9, le: true, flags: 3, maxXmitFrag: 4280, maxRecvFrag: 4280, assocGroupId: 0xabc,
      secondaryAddress: '49701', results: [{ result: 0, reason: 0, transferSyntax: NDR }],
      auth: { authType: 10, authLevel: 5, authContextId: 1, token: Buffer.from('tok') },
    });
    expect(b.subarray(24, 32).toString('latin1')).toBe('\x06\x0049701\x00'); // length 6, "49701\0"
    const p = parse(b);
    expect([p.secAddr, p.assocGroup, p.results, p.auth!.value.toString()]).toEqual(['49701', 0xabc, [{ result: 0, reason: 0, transfer: NDR }], 'tok']);
    expect(p.auth!.offset % 4).toBe(0);
  });

  it('bind_nak and fault have their fixed sizes', () => {
    expect(encodeBindNak(1, true, 8).toString('hex')).toBe('05000d031000000018000000010000000800010500000000');
    const f = parse(encodeFault(4, false, 2, 0x1c010002, 0x20));
    expect([f.fragLength, f.le, f.contextId, f.status, f.flags, f.allocHint]).toEqual([32, false, 2, 0x1c010002, 0x23, 24]);
  });

  it('response fragments: sizes, flags, alloc hints, stub boundaries (no auth and with auth)', () => {
    const stub = Buffer.alloc(5000, 7);
    const frags = buildResponseFragments({ callId: 1, contextId: 0, littleEndian: true, auth: undefined }, stub, 1432);
    expect(frags.every((f) => f.length <= 1432)).toBe(true);
    expect(Buffer.concat(frags.map((f) => parse(f).stub!))).toEqual(stub);
    const auth = {
      authContextId: 3, authType: 0x45, authLevel: AuthLevel.Integrity, complete: true, failure: undefined,
      provider: { authType: 0x45, name: 'x', newContext: () => { throw new Error(); } },
      security: { signatureLength: 16, identity: undefined, accept: () => ({ complete: true }), protect: () => Buffer.alloc(16, 0xaa), unprotect: () => undefined },
    } as AuthState;
    const af = buildResponseFragments({ callId: 1, contextId: 0, littleEndian: true, auth }, stub, 1432);
    for (const f of af) {
      const p = parse(f);
      expect(p.fragLength).toBeLessThanOrEqual(1432);
      expect((p.auth!.offset - 24) % 16).toBe(0);
      expect(p.auth!.value).toEqual(Buffer.alloc(16, 0xaa));
    }
    expect(Buffer.concat(af.map((f) => parse(f).stub!))).toEqual(stub);
    const empty = buildResponseFragments({ callId: 1, contextId: 0, littleEndian: true, auth }, Buffer.alloc(0), 1432);
    expect(empty).toHaveLength(1);
    expect(parse(empty[0]).flags & 3).toBe(3);
  });

  it('a provider with protectInto writes its verifier in the fragment; padding is zero though the fragment comes from the pool', () => {
    // Dirty the pool that Buffer.allocUnsafe hands out slices of.
    for (let i = 0; i < 64; i++) Buffer.allocUnsafe(128).fill(0xee);
    const seen: Array<[number, number, number]> = [];
    const auth = {
      authContextId: 3, authType: 0x45, authLevel: AuthLevel.Privacy, complete: true, failure: undefined,
      provider: { authType: 0x45, name: 'x', newContext: () => { throw new Error(); } },
      security: {
        signatureLength: 20, identity: undefined, accept: () => ({ complete: true }), unprotect: () => undefined,
        protect: () => { throw new Error('protectInto is used when the provider has it'); },
        protectInto: (frag: Buffer, a: number, b: number) => {
          seen.push([frag.length, a, b]);
          frag.fill(0xbb, b + 8, b + 28);
        },
      },
    } as AuthState;
    const [f] = buildResponseFragments({ callId: 9, contextId: 0, littleEndian: true, auth }, Buffer.alloc(21, 7), 1432);
    const p = parse(f);
    expect(seen).toEqual([[24 + 32 + 8 + 20, 24, 56]]);
    expect(p.auth!.value).toEqual(Buffer.alloc(20, 0xbb));
    expect(f.subarray(24 + 21, 56)).toEqual(Buffer.alloc(11));
    expect(f[56 + 2]).toBe(11);
  });

  it('one stub answering many calls: each response is its own PDU with its call_id and context id', () => {
    const stub = Buffer.from('0100000002000000aabbccdd', 'hex');
    for (const le of [true, false]) {
      const pdus = [7, 8, 0xfffffffe].map((callId, i) => buildResponseFragments({ callId, contextId: i, littleEndian: le, auth: undefined }, stub, 4280));
      pdus.forEach(([pdu], i) => {
        const p = parse(pdu);
        expect([p.callId, p.contextId, p.le, p.flags & 3, p.allocHint, p.fragLength]).toEqual([[7, 8, 0xfffffffe][i], i, le, 3, stub.length, 24 + stub.length]);
        expect(p.stub).toEqual(stub);
      });
      // Three buffers: a later response does not change one already handed to a socket.
      expect(new Set(pdus.map(([b]) => b)).size).toBe(3);
      expect(parse(pdus[0][0]).callId).toBe(7);
    }
  });
});

describe('verification trailer', () => {
  // rpcclient's first authenticated GetInterfaceList stub (INTEROP.md §3): BITMASK_1 + PCONTEXT|END.
  const vt = Buffer.from('8ae3137102f43671' + '01000400' + '01000000' + '02402800' +
    '74c0d8cce5d0404a92b4d074faa6ba28' + '01000100' + '045d888aeb1cc9119fe808002b104860' + '02000000', 'hex');

  it('pops the trailer rpcclient sends and checks it', () => {
    const p = popVerificationTrailer(vt, true);
    expect(p.stub.length).toBe(0);
    expect(p.commands!.map((c) => c.kind)).toEqual(['bitmask1', 'pcontext']);
    const pc = { id: 0, iface: undefined as never, abstractSyntax: W, ndr64: false };
    const call = { callId: 3, opnum: 0, pc };
    expect(checkVerificationTrailer(p.commands!, call, 0x10000000, true)).toBeUndefined();
    expect(checkVerificationTrailer(p.commands!, call, 0x10000000, false)).toMatch(/header signing/);
    expect(checkVerificationTrailer(p.commands!, { ...call, pc: { ...pc, abstractSyntax: { ...W, minor: 0 } } }, 0x10000000, true)).toMatch(/abstract/);
    expect(checkVerificationTrailer(p.commands!, { ...call, pc: { ...pc, ndr64: true } }, 0x10000000, true)).toMatch(/transfer/);
    expect(checkVerificationTrailer([...p.commands!, p.commands![0]], call, 0x10000000, true)).toMatch(/repeated/);
  });

  it('keeps stub data that only looks like a trailer', () => {
    const data = Buffer.concat([Buffer.alloc(8, 1), vt.subarray(0, 12)]);
    expect(popVerificationTrailer(data, true).commands).toBeUndefined();
    const pad = Buffer.concat([Buffer.alloc(4), vt, Buffer.alloc(20)]);
    expect(popVerificationTrailer(pad, true).commands).toBeUndefined();
    expect(popVerificationTrailer(Buffer.alloc(3), true).stub.length).toBe(3);
  });

  it('finds a trailer after 4-aligned stub data within the last 1024 bytes', () => {
    const s = Buffer.concat([Buffer.alloc(1000, 9), vt]);
    const p = popVerificationTrailer(s, true);
    expect(p.stub.length).toBe(1000);
    const unknownMust = Buffer.concat([vt.subarray(0, 8), Buffer.from('09c0040000000000', 'hex')]);
    const q = popVerificationTrailer(unknownMust, true);
    expect(q.commands![0]).toMatchObject({ kind: 'unknown', mustProcess: true });
  });
});
