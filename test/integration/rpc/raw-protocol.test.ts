/**
 * Raw-PDU tests of the connection-oriented runtime, in the style of Samba's raw_protocol.py:
 * hand-built PDUs over a real loopback socket, exact answers checked.
 */
import {
  BTFN3, CONC_MPX, DID_NOT_EXECUTE, FIRST, LAST, MAYBE, NDR, NDR64, PT,
  alter, bind, fragmentedRequest, request, simple,
} from './helpers/pdu-builder';
import { type Harness, startHarness } from './helpers/harness';
import { OTHER_SYNTAX, TEST_SYNTAX, u32be, u32le } from './helpers/test-interface';
import { abortSignalOf, CallAborted } from '../../../src/rpc/call-context';

jest.setTimeout(15000);

const UNKNOWN = { uuid: 'deadbeef-0000-1111-2222-333344445555', major: 1, minor: 0 };

let h: Harness;
beforeEach(async () => { h = await startHarness(); });
afterEach(async () => { await h.close(); });

describe('bind', () => {
  it('accepts one context and answers bind_ack with the port as secondary address', async () => {
    const { c, ack } = await h.bound();
    expect(ack.callId).toBe(1);
    expect(ack.flags & (FIRST | LAST)).toBe(FIRST | LAST);
    expect(ack.secAddr).toBe(String(h.port));
    expect(ack.assocGroup).not.toBe(0);
    expect(ack.maxXmit).toBe(5840);
    expect(ack.maxRecv).toBe(5840);
    expect(ack.results).toEqual([{ result: 0, reason: 0, transfer: NDR }]);
    c.send(request({ callId: 2, opnum: 0, stub: Buffer.from('hello') }));
    const r = await c.recv();
    expect(r.ptype).toBe(PT.RESPONSE);
    expect(r.callId).toBe(2);
    expect(r.flags & (FIRST | LAST)).toBe(FIRST | LAST);
    expect(r.stub).toEqual(Buffer.from('\x01hello', 'latin1'));
  });

  it('answers several contexts: acceptance, unknown interface (1), NDR64 only (2), BTFN negotiate_ack', async () => {
    const c = await h.connect();
    c.send(bind({
      callId: 7,
      contexts: [
        { id: 0, abstract: TEST_SYNTAX, transfers: [NDR] },
        { id: 1, abstract: UNKNOWN, transfers: [NDR] },
        { id: 2, abstract: TEST_SYNTAX, transfers: [NDR64] },
        { id: 3, abstract: TEST_SYNTAX, transfers: [BTFN3] },
        { id: 4, abstract: OTHER_SYNTAX, transfers: [NDR64, NDR] },
      ],
    }));
    const ack = await c.recv();
    const zero = { uuid: '00000000-0000-0000-0000-000000000000', major: 0, minor: 0 };
    expect(ack.results).toEqual([
      { result: 0, reason: 0, transfer: NDR },
      { result: 2, reason: 1, transfer: zero },
      { result: 2, reason: 2, transfer: zero },
      { result: 3, reason: 3, transfer: zero },
      { result: 0, reason: 0, transfer: NDR },
    ]);
    c.send(request({ callId: 8, contextId: 4, opnum: 0, stub: Buffer.from('x') }));
    expect((await c.recv()).stub).toEqual(Buffer.from([1, 0x78]));
    expect(h.other.contexts).toHaveLength(1);
  });

  it('matches the interface by UUID and major version, minor up to ours', async () => {
    const c = await h.connect();
    c.send(bind({
      contexts: [
        { id: 0, abstract: { ...TEST_SYNTAX, minor: 0 }, transfers: [NDR] },
        { id: 1, abstract: { ...TEST_SYNTAX, minor: 2 }, transfers: [NDR] },
        { id: 2, abstract: { ...TEST_SYNTAX, major: 2 }, transfers: [NDR] },
      ],
    }));
    expect((await c.recv()).results!.map((r) => [r.result, r.reason])).toEqual([[0, 0], [2, 1], [2, 1]]);
  });

  it('acks a bind with no acceptable context; a call on it faults nca_s_unknown_if and the connection lives', async () => {
    const c = await h.connect();
    c.send(bind({ contexts: [{ id: 0, abstract: UNKNOWN, transfers: [NDR] }] }));
    const ack = await c.recv();
    expect(ack.ptype).toBe(PT.BIND_ACK);
    expect(ack.results![0].result).toBe(2);
    c.send(request({ callId: 2, opnum: 0, stub: Buffer.alloc(0) }));
    const f = await c.recv();
    expect(f.ptype).toBe(PT.FAULT);
    expect(f.status).toBe(0x1c010003);
    expect(f.flags & DID_NOT_EXECUTE).toBe(DID_NOT_EXECUTE);
    c.send(alter({ callId: 3, contexts: [{ id: 1, abstract: TEST_SYNTAX, transfers: [NDR] }] }));
    const resp = await c.recv();
    expect(resp.ptype).toBe(PT.ALTER_RESP);
    expect(resp.results![0].result).toBe(0);
  });

  it('negotiates fragment sizes: floor 2048 as Windows, ceiling our limit, multiple of 8', async () => {
    for (const [offer, want] of [[1000, 2048], [1432, 2048], [65535, 5840], [4281, 4280], [2048, 2048]]) {
      const c = await h.connect();
      c.send(bind({ maxXmit: offer, maxRecv: 65535, contexts: [{ id: 0, abstract: TEST_SYNTAX, transfers: [NDR] }] }));
      const ack = await c.recv();
      expect([offer, ack.maxXmit, ack.maxRecv]).toEqual([offer, want, want]);
    }
  });

  it('echoes CONC_MPX', async () => {
    const c = await h.connect();
    c.send(bind({ flags: FIRST | LAST | CONC_MPX, contexts: [{ id: 0, abstract: TEST_SYNTAX, transfers: [NDR] }] }));
    expect((await c.recv()).flags & CONC_MPX).toBe(CONC_MPX);
  });

  it('refuses a request before bind with bind_nak reason 4 and closes', async () => {
    const c = await h.connect();
    c.send(request({ callId: 1, opnum: 0, stub: Buffer.alloc(0) }));
    const nak = await c.recv();
    expect(nak.ptype).toBe(PT.BIND_NAK);
    expect(nak.rejectReason).toBe(4);
    expect(nak.versions).toEqual([[5, 0]]);
    await c.waitClosed();
  });

  it('refuses a second bind with bind_nak and closes', async () => {
    const { c } = await h.bound();
    c.send(bind({ callId: 2, contexts: [{ id: 1, abstract: TEST_SYNTAX, transfers: [NDR] }] }));
    expect((await c.recv()).ptype).toBe(PT.BIND_NAK);
    await c.waitClosed();
  });

  it('refuses a bind without contexts (reason 4) and a context without transfer syntaxes (reason 0)', async () => {
    const c = await h.connect();
    c.send(bind({ contexts: [] }));
    expect((await c.recv()).rejectReason).toBe(4);
    await c.waitClosed();
    const d = await h.connect();
    d.send(bind({ contexts: [{ id: 0, abstract: TEST_SYNTAX, transfers: [] }] }));
    expect((await d.recv()).rejectReason).toBe(0);
    await d.waitClosed();
  });

  it('closes on a wrong RPC version, a too short frag_length, and a server-side PDU type', async () => {
    const a = await h.connect();
    const bad = bind({ contexts: [{ id: 0, abstract: TEST_SYNTAX, transfers: [NDR] }] });
    bad[0] = 4;
    a.send(bad);
    expect((await a.recv()).ptype).toBe(PT.BIND_NAK);
    await a.waitClosed();
    const b = await h.connect();
    const short = Buffer.from(simple(PT.BIND, 1));
    short.writeUInt16LE(8, 8);
    b.send(short);
    expect((await b.recv()).ptype).toBe(PT.BIND_NAK);
    await b.waitClosed();
    const { c } = await h.bound();
    c.send(simple(PT.RESPONSE, 5));
    const f = await c.recv();
    expect([f.ptype, f.status]).toEqual([PT.FAULT, 0x1c01000b]);
    await c.waitClosed();
  });

  it('answers every server-side or connectionless PDU type from a client with nca_s_proto_error and closes', async () => {
    for (const ptype of [PT.RESPONSE, PT.FAULT, PT.BIND_ACK, PT.BIND_NAK, PT.ALTER_RESP, PT.SHUTDOWN, 1 /* ping */, 20 /* rts */]) {
      const { c } = await h.bound();
      c.send(simple(ptype, 9));
      const f = await c.recv();
      expect([ptype, f.ptype, f.callId, f.status, f.flags & DID_NOT_EXECUTE]).toEqual([ptype, PT.FAULT, 9, 0x1c01000b, DID_NOT_EXECUTE]);
      await c.waitClosed();
    }
  });

  it('auth3 without a trailer or without an auth context in progress is a protocol error', async () => {
    const { c } = await h.bound();
    c.send(simple(PT.AUTH3, 2));
    expect((await c.recv()).status).toBe(0x1c01000b);
    await c.waitClosed();
  });

  it('faults nca_s_proto_error on a truncated bind body', async () => {
    const c = await h.connect();
    const b = bind({ contexts: [{ id: 0, abstract: TEST_SYNTAX, transfers: [NDR] }] }).subarray(0, 30);
    const t = Buffer.from(b);
    t.writeUInt16LE(t.length, 8);
    c.send(t);
    expect((await c.recv()).rejectReason).toBe(4);
    await c.waitClosed();
  });
});

describe('alter_context', () => {
  it('adds a context to a live connection; secondary address is empty', async () => {
    const { c, ack } = await h.bound();
    c.send(alter({ callId: 2, contexts: [{ id: 1, abstract: OTHER_SYNTAX, transfers: [NDR] }] }));
    const r = await c.recv();
    expect(r.ptype).toBe(PT.ALTER_RESP);
    expect(r.callId).toBe(2);
    expect(r.secAddr).toBe('');
    expect(r.assocGroup).toBe(ack.assocGroup);
    expect(r.results).toEqual([{ result: 0, reason: 0, transfer: NDR }]);
    c.send(request({ callId: 3, contextId: 1, opnum: 0, stub: Buffer.from('o') }));
    expect((await c.recv()).stub).toEqual(Buffer.from([1, 0x6f]));
    expect(h.other.contexts).toHaveLength(1);
    expect(h.iface.contexts).toHaveLength(0);
  });

  it('re-offering the same context is accepted, another interface on a used id is a protocol error', async () => {
    const { c } = await h.bound();
    c.send(alter({ callId: 2, contexts: [{ id: 0, abstract: TEST_SYNTAX, transfers: [NDR] }] }));
    expect((await c.recv()).results![0].result).toBe(0);
    c.send(alter({ callId: 3, contexts: [{ id: 0, abstract: OTHER_SYNTAX, transfers: [NDR] }] }));
    const f = await c.recv();
    expect([f.ptype, f.status]).toEqual([PT.FAULT, 0x1c01000b]);
    await c.waitClosed();
  });
});

describe('requests and faults', () => {
  it('faults with the right status: unknown context, unknown opnum, bad stub, server bug, DispatchFault', async () => {
    const { c } = await h.bound();
    const cases: Array<[number, number, number, number]> = [
      // [contextId, opnum, status, flags]; an unknown context id is answered on context 0
      [9, 0, 0x1c010003, DID_NOT_EXECUTE],
      [0, 99, 0x1c010002, DID_NOT_EXECUTE],
      [0, 2, 0x000006f7, 0],
      [0, 3, 0x1c000012, 0],
      [0, 4, 0x00001234, 0],
    ];
    let callId = 10;
    for (const [contextId, opnum, status, flags] of cases) {
      c.send(request({ callId: ++callId, contextId, opnum, stub: Buffer.from([1, 2, 3]) }));
      const f = await c.recv();
      expect([f.ptype, f.callId, f.contextId, f.status, f.flags & DID_NOT_EXECUTE, f.fragLength]).toEqual([PT.FAULT, callId, contextId === 9 ? 0 : contextId, status, flags, 32]);
    }
    // still usable
    c.send(request({ callId: 99, opnum: 0, stub: Buffer.from('ok') }));
    expect((await c.recv()).ptype).toBe(PT.RESPONSE);
  });

  it('reassembles a fragmented request', async () => {
    const { c } = await h.bound();
    const stub = Buffer.alloc(5000);
    for (let i = 0; i < stub.length; i++) stub[i] = (i * 7) & 0xff;
    c.send(...fragmentedRequest({ callId: 2, opnum: 0, stub, chunk: 1200 }));
    const r = await c.recv();
    expect(r.stub!.length).toBe(5001);
    expect(r.stub!.subarray(1)).toEqual(stub);
  });

  it('fragments a large response at the negotiated size', async () => {
    const { c, ack } = await h.bound({ maxXmit: 2048 });
    expect(ack.maxXmit).toBe(2048);
    c.send(request({ callId: 2, opnum: 5, stub: u32le(20000) }));
    const parts: Buffer[] = [];
    let hints: number[] = [];
    for (;;) {
      const r = await c.recv();
      expect(r.ptype).toBe(PT.RESPONSE);
      expect(r.fragLength).toBeLessThanOrEqual(2048);
      expect(r.flags & FIRST).toBe(parts.length === 0 ? FIRST : 0);
      parts.push(r.stub!);
      hints.push(r.allocHint!);
      if (r.flags & LAST) break;
    }
    const all = Buffer.concat(parts);
    expect(all.length).toBe(20000);
    expect(all.every((b, i) => b === (i & 0xff))).toBe(true);
    expect(hints[0]).toBe(20000);
    expect(hints).toEqual([...hints].sort((a, b) => b - a));
    hints = [];
  });

  it('serves a big-endian client end to end (drep 00) and passes littleEndian=false to dispatch', async () => {
    const { c, ack } = await h.bound({ le: false });
    expect(ack.le).toBe(false);
    expect(ack.drep[0]).toBe(0);
    expect(ack.results).toEqual([{ result: 0, reason: 0, transfer: NDR }]);
    c.send(request({ le: false, callId: 2, opnum: 0, stub: Buffer.from('be') }));
    const r = await c.recv();
    expect([r.le, r.callId]).toEqual([false, 2]);
    expect(r.stub).toEqual(Buffer.from([0, 0x62, 0x65]));
    c.send(...fragmentedRequest({ le: false, callId: 3, opnum: 5, stub: u32be(3000), chunk: 2 }));
    const parts: Buffer[] = [];
    for (;;) {
      const x = await c.recv();
      parts.push(x.stub!);
      if (x.flags & LAST) break;
    }
    expect(Buffer.concat(parts).length).toBe(3000);
    c.send(request({ le: false, callId: 4, opnum: 77, stub: Buffer.alloc(0) }));
    const f = await c.recv();
    expect([f.le, f.status]).toEqual([false, 0x1c010002]);
  });

  it('accepts a request with an object UUID', async () => {
    const { c } = await h.bound();
    c.send(request({ callId: 2, opnum: 0, stub: Buffer.from('z'), object: '11111111-2222-3333-4444-555555555555' }));
    expect((await c.recv()).stub).toEqual(Buffer.from([1, 0x7a]));
  });

  it('sends nothing for a maybe call', async () => {
    const { c } = await h.bound();
    c.send(request({ callId: 2, opnum: 0, stub: Buffer.from('m'), flags: FIRST | LAST | MAYBE }));
    await c.expectSilence(200);
    expect(h.iface.contexts).toHaveLength(1);
  });
});

describe('calls in flight', () => {
  it('answers other calls while two are pending, and the pending ones in release order', async () => {
    const { c } = await h.bound();
    c.send(request({ callId: 2, opnum: 1, stub: u32le(1) }));
    c.send(request({ callId: 3, opnum: 1, stub: u32le(2) }));
    c.send(request({ callId: 4, opnum: 0, stub: Buffer.from('now') }));
    const first = await c.recv();
    expect([first.callId, first.stub!.toString('latin1')]).toEqual([4, '\x01now']);
    await waitFor(() => h.iface.parked === 2);
    h.iface.release(2);
    const second = await c.recv();
    expect(second.callId).toBe(3);
    h.iface.release(1);
    expect((await c.recv()).callId).toBe(2);
  });

  it('co_cancel aborts the call signal and answers nca_s_fault_cancel', async () => {
    const { c } = await h.bound();
    c.send(request({ callId: 2, opnum: 1, stub: u32le(5) }));
    await waitFor(() => h.iface.parked === 1);
    c.send(simple(PT.CO_CANCEL, 2));
    const f = await c.recv();
    expect([f.ptype, f.callId, f.status]).toEqual([PT.FAULT, 2, 0x1c00000d]);
    expect(h.iface.aborted).toHaveLength(1);
    expect((h.iface.aborted[0].reason as CallAborted).kind).toBe('cancel');
    c.send(request({ callId: 3, opnum: 0, stub: Buffer.alloc(0) }));
    expect((await c.recv()).callId).toBe(3);
    await c.expectSilence(100);
  });

  it('co_cancel and orphaned during reassembly are ignored: the call completes, runs and is answered (as Windows)', async () => {
    const { c } = await h.bound();
    for (const [callId, kind] of [[2, PT.CO_CANCEL], [3, PT.ORPHANED]]) {
      const frags = fragmentedRequest({ callId, opnum: 0, stub: Buffer.alloc(3000, 1), chunk: 1000 });
      c.send(frags[0], simple(kind, callId));
      await c.expectSilence(100);
      c.send(frags[1], frags[2]);
      const r = await c.recv();
      expect([r.ptype, r.callId, r.flags, r.contextId, r.stub!.length]).toEqual([PT.RESPONSE, callId, FIRST | LAST, 0, 3001]);
    }
    expect(h.iface.contexts).toHaveLength(2);
    expect(h.iface.aborted).toHaveLength(0);
  });

  it('orphaned aborts the call signal and sends nothing', async () => {
    const { c } = await h.bound();
    c.send(request({ callId: 2, opnum: 1, stub: u32le(5) }));
    await waitFor(() => h.iface.parked === 1);
    c.send(simple(PT.ORPHANED, 2));
    await c.expectSilence(200);
    expect((h.iface.aborted[0].reason as CallAborted).kind).toBe('orphaned');
    c.send(request({ callId: 3, opnum: 0, stub: Buffer.alloc(0) }));
    expect((await c.recv()).callId).toBe(3);
  });

  it('a cancel for an unknown call is ignored', async () => {
    const { c } = await h.bound();
    c.send(simple(PT.CO_CANCEL, 42), simple(PT.ORPHANED, 43));
    await c.expectSilence(100);
    c.send(request({ callId: 3, opnum: 0, stub: Buffer.alloc(0) }));
    expect((await c.recv()).callId).toBe(3);
  });

  it('a closed connection aborts its pending calls', async () => {
    const { c } = await h.bound();
    c.send(request({ callId: 2, opnum: 1, stub: u32le(9) }));
    await waitFor(() => h.iface.parked === 1);
    await c.close();
    await waitFor(() => h.iface.aborted.length === 1);
    expect((h.iface.aborted[0].reason as CallAborted).kind).toBe('closed');
    await waitFor(() => h.server.connectionCount === 0);
  });

  it('a re-used call id of a pending call is a protocol error', async () => {
    const { c } = await h.bound();
    c.send(request({ callId: 2, opnum: 1, stub: u32le(1) }));
    await waitFor(() => h.iface.parked === 1);
    c.send(request({ callId: 2, opnum: 0, stub: Buffer.alloc(0) }));
    const f = await c.recv();
    expect(f.status).toBe(0x1c01000b);
    await c.waitClosed();
  });
});

describe('association groups', () => {
  it('a second connection joins by id; an unknown id gets bind_nak; onClose fires after the last connection', async () => {
    const a = await h.bound();
    const g = a.ack.assocGroup!;
    const b = await h.bound({ assocGroup: g });
    expect(b.ack.assocGroup).toBe(g);
    const x = await h.connect();
    x.send(bind({ assocGroup: (g + 1) >>> 0 || 1, contexts: [{ id: 0, abstract: TEST_SYNTAX, transfers: [NDR] }] }));
    const nak = await x.recv();
    expect([nak.ptype, nak.rejectReason]).toEqual([PT.BIND_NAK, 0]);
    await x.waitClosed();
    a.c.send(request({ callId: 2, opnum: 6, stub: Buffer.alloc(0) }));
    const who = JSON.parse((await a.c.recv()).stub!.toString());
    expect(who.group).toBe(g);
    let closed = 0;
    h.iface.contexts[0].associationGroup.onClose(() => closed++);
    await a.c.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(0);
    await b.c.close();
    await waitFor(() => closed === 1);
    // the id is gone with the group
    const y = await h.connect();
    y.send(bind({ assocGroup: g, contexts: [{ id: 0, abstract: TEST_SYNTAX, transfers: [NDR] }] }));
    expect((await y.recv()).ptype).toBe(PT.BIND_NAK);
  });

  it('new connections with group 0 get distinct groups', async () => {
    const a = await h.bound();
    const b = await h.bound();
    expect(a.ack.assocGroup).not.toBe(b.ack.assocGroup);
  });
});

describe('graceful close', () => {
  it('aborts pending calls with reason shutdown, answers them, then closes the sockets', async () => {
    const { c } = await h.bound();
    c.send(request({ callId: 2, opnum: 1, stub: u32le(1) }));
    c.send(request({ callId: 3, opnum: 7, stub: u32le(2) })); // ignores its signal
    await waitFor(() => h.iface.parked === 2);
    const closing = h.server.close();
    const got = [await c.recv(), await c.recv()].map((p) => [p.callId, p.ptype, p.status]);
    expect(got).toEqual([[2, PT.FAULT, 0x6ba], [3, PT.FAULT, 0x6ba]]);
    expect((h.iface.aborted[0].reason as CallAborted).kind).toBe('shutdown');
    // A signal first looked at after the abort is born aborted, with the same reason.
    const signal = abortSignalOf(h.iface.contexts[1]);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as CallAborted).kind).toBe('shutdown');
    await c.waitClosed();
    await closing;
    expect(h.server.connectionCount).toBe(0);
  });

  it('sends a late answer of an aborted call if it comes within the grace period', async () => {
    const { c } = await h.bound();
    c.send(request({ callId: 2, opnum: 7, stub: u32le(4) }));
    await waitFor(() => h.iface.parked === 1);
    const closing = h.server.close();
    setTimeout(() => h.iface.release(4, Buffer.from('late')), 50);
    const r = await c.recv();
    expect([r.ptype, r.stub!.toString()]).toEqual([PT.RESPONSE, 'late']);
    await closing;
  });
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
