/**
 * Server conformance (issue 15, groups 1-7): what a peer sends and what Windows answers, as
 * Samba's python/samba/tests/dcerpc/raw_protocol.py records it. Every answer is checked for
 * PDU type, flags, context id and status; each hostile case ends with a healthy client served.
 */
import { AuthLevel } from '../../../src/rpc/security';
import {
  BTFN3, CONC_MPX, DID_NOT_EXECUTE, FIRST, HDR_SIGN, LAST, NDR, PT,
  alter, auth3, bind, fragmentedRequest, request, simple, type Parsed,
} from './helpers/pdu-builder';
import { type Harness, authSpec, startHarness } from './helpers/harness';
import { FAKE_AUTH_TYPE, FakeClient } from './helpers/fake-security';
import { OTHER_SYNTAX, TEST_SYNTAX } from './helpers/test-interface';
import { authBind, ctx0, openResponse, signWith, signedRequest } from './helpers/auth-legs';
import type { RawClient } from './helpers/raw-client';

jest.setTimeout(15000);

const PROTO_ERROR = 0x1c01000b;
const SEC_PKG_ERROR = 0x721;
const ACCESS_DENIED = 5;

let h: Harness;
beforeEach(async () => { h = await startHarness(); });
afterEach(async () => { await h.close(); });

/** The fault's shape: [ptype, call id, pfc_flags, context id, status]. */
const shape = (f: Parsed) => [f.ptype, f.callId, f.flags, f.contextId, f.status];

/** A fresh, well-behaved client is bound and served after whatever came before. */
async function healthyClientServed(): Promise<void> {
  const { c } = await h.bound();
  c.send(request({ callId: 2, opnum: 0, stub: Buffer.from('ok') }));
  const r = await c.recv();
  expect([r.ptype, r.callId, r.flags, r.contextId, r.stub!.toString('latin1')]).toEqual([PT.RESPONSE, 2, FIRST | LAST, 0, '\x01ok']);
}

/** Bind context 1 (test interface), optionally with CONC_MPX. */
async function boundCtx1(flags = FIRST | LAST): Promise<RawClient> {
  const c = await h.connect();
  c.send(bind({ flags, contexts: [{ id: 1, abstract: TEST_SYNTAX, transfers: [NDR] }] }));
  expect((await c.recv()).ptype).toBe(PT.BIND_ACK);
  return c;
}

describe('group 1: auth level call (MS-RPCE 2.2.1.1.8)', () => {
  it('a bind at level call is refused with bind_nak 9 and the connection closed', async () => {
    const c = await h.connect();
    c.send(bind({ contexts: ctx0, auth: authSpec(new FakeClient().hello(), AuthLevel.Call) }));
    const nak = await c.recv();
    expect([nak.ptype, nak.flags, nak.rejectReason]).toEqual([PT.BIND_NAK, FIRST | LAST, 9]);
    await c.waitClosed();
  });

  it('a new auth context at level call in alter_context → fault 0x5 and close', async () => {
    const { c } = await h.bound();
    c.send(alter({ callId: 2, contexts: ctx0, auth: authSpec(new FakeClient().hello(), AuthLevel.Call, 3) }));
    expect(shape(await c.recv())).toEqual([PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, ACCESS_DENIED]);
    await c.waitClosed();
  });

  it('hostile: level call legs, then requests with garbage verifiers at level call, never execute', async () => {
    const c = await h.connect();
    const fc = new FakeClient('mallory');
    c.send(bind({ contexts: ctx0, auth: authSpec(fc.hello(), AuthLevel.Call) }));
    expect((await c.recv()).ptype).toBe(PT.BIND_NAK);
    await c.waitClosed();
    const d = await h.connect();
    d.send(bind({ contexts: ctx0 }));
    expect((await d.recv()).ptype).toBe(PT.BIND_ACK);
    d.send(request({ callId: 2, opnum: 0, stub: Buffer.from('x'), auth: { type: FAKE_AUTH_TYPE, level: AuthLevel.Call, contextId: 1, sigLength: 16 } }));
    expect(shape(await d.recv())).toEqual([PT.FAULT, 2, FIRST | LAST, 0, ACCESS_DENIED]);
    await d.waitClosed();
    expect(h.iface.contexts).toHaveLength(0);
    await healthyClientServed();
  });
});

describe('group 2: one call in reassembly per connection (MS-RPCE 3.3.3)', () => {
  const frags = (callId: number, contextId = 1) => fragmentedRequest({ callId, contextId, opnum: 0, stub: Buffer.alloc(300, 7), chunk: 100 });

  it('a second first fragment on an exclusive connection faults the call being received, FIRST|LAST only, and closes', async () => {
    const c = await boundCtx1();
    c.send(frags(2)[0], frags(3, 0)[0]);
    expect(shape(await c.recv())).toEqual([PT.FAULT, 2, FIRST | LAST, 1, PROTO_ERROR]);
    await c.waitClosed();
  });

  it('with CONC_MPX the fault goes to the new call, on context 0', async () => {
    const c = await boundCtx1(FIRST | LAST | CONC_MPX);
    c.send(frags(2)[0], frags(3)[0]);
    expect(shape(await c.recv())).toEqual([PT.FAULT, 3, FIRST | LAST, 0, PROTO_ERROR]);
    await c.waitClosed();
  });

  it('a middle or last fragment with no call open is a protocol error on context 0', async () => {
    for (const i of [1, 2]) {
      const c = await boundCtx1();
      c.send(frags(5)[i]);
      expect(shape(await c.recv())).toEqual([PT.FAULT, 5, FIRST | LAST, 0, PROTO_ERROR]);
      await c.waitClosed();
    }
  });

  it('later fragments keep the first one\'s context and opnum: their own are ignored', async () => {
    const c = await boundCtx1();
    const [a, b, d] = frags(4);
    b.writeUInt16LE(9, 20); // context id of the middle fragment
    d.writeUInt16LE(99, 22); // opnum of the last
    c.send(a, b, d);
    const r = await c.recv();
    expect([r.ptype, r.callId, r.flags, r.contextId, r.stub!.length]).toEqual([PT.RESPONSE, 4, FIRST | LAST, 1, 301]);
  });

  it('a fragment signed by another auth context → 0x721 and close', async () => {
    const { c, fc } = await authBind(h, AuthLevel.Integrity);
    const fc2 = new FakeClient('bob', 'alter');
    c.send(alter({ callId: 5, contexts: ctx0, auth: authSpec(fc2.hello(), AuthLevel.Integrity, 2) }));
    const leg = await c.recv();
    c.send(alter({ callId: 6, contexts: ctx0, auth: authSpec(fc2.onServerToken(leg.auth!.value)!, AuthLevel.Integrity, 2) }));
    expect((await c.recv()).ptype).toBe(PT.ALTER_RESP);
    const one = fragmentedRequest({ callId: 7, opnum: 0, stub: Buffer.alloc(64, 1), chunk: 32, auth: signWith(fc, AuthLevel.Integrity, 1) });
    const two = fragmentedRequest({ callId: 7, opnum: 0, stub: Buffer.alloc(64, 1), chunk: 32, auth: signWith(fc2, AuthLevel.Integrity, 2) });
    c.send(one[0], two[1]);
    expect(shape(await c.recv())).toEqual([PT.FAULT, 7, FIRST | LAST, 0, SEC_PKG_ERROR]);
    await c.waitClosed();
    expect(h.iface.contexts).toHaveLength(0);
  });

  it('a first fragment with PFC_PENDING_CANCEL → rpc_s_no_call_active and close', async () => {
    const c = await boundCtx1();
    c.send(request({ callId: 2, contextId: 1, opnum: 0, stub: Buffer.alloc(0), flags: FIRST | LAST | 4 }));
    expect(shape(await c.recv())).toEqual([PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, 0x6bd]);
    await c.waitClosed();
  });

  it('hostile: interleaved first fragments, orphan middles, a 300-fragment call; then a healthy client', async () => {
    for (let k = 0; k < 5; k++) {
      const c = await boundCtx1(k % 2 ? FIRST | LAST | CONC_MPX : FIRST | LAST);
      for (let id = 10; id < 30; id++) c.send(frags(id)[id % 3]);
      expect((await c.recv()).status).toBe(PROTO_ERROR);
      await c.waitClosed();
    }
    const c = await boundCtx1();
    c.send(...fragmentedRequest({ callId: 2, contextId: 1, opnum: 0, stub: Buffer.alloc(3000, 3), chunk: 10 }));
    expect((await c.recv()).stub!.length).toBe(3001);
    await healthyClientServed();
  });
});

describe('group 3: co_cancel and orphaned for a half-received call', () => {
  it('hostile: cancels and orphans between fragments are ignored, the call is answered once, then a healthy client', async () => {
    const c = await boundCtx1();
    const [a, b, d] = fragmentedRequest({ callId: 2, contextId: 1, opnum: 0, stub: Buffer.alloc(300, 9), chunk: 100 });
    c.send(a, simple(PT.CO_CANCEL, 2), simple(PT.ORPHANED, 2), b, simple(PT.CO_CANCEL, 2), d);
    const r = await c.recv();
    expect([r.ptype, r.callId, r.flags, r.contextId, r.stub!.length]).toEqual([PT.RESPONSE, 2, FIRST | LAST, 1, 301]);
    await c.expectSilence(150);
    expect(h.iface.aborted).toHaveLength(0);
    await healthyClientServed();
  });
});

describe('group 4: security-context errors', () => {
  it('privacy without sealing negotiated, completed by alter_context → fault 0x721 and close', async () => {
    const c = await h.connect();
    const fc = new FakeClient('noseal', 'alter');
    c.send(bind({ contexts: ctx0, auth: authSpec(fc.hello(), AuthLevel.Privacy) }));
    const ack = await c.recv();
    c.send(alter({ callId: 2, contexts: ctx0, auth: authSpec(fc.onServerToken(ack.auth!.value)!, AuthLevel.Privacy) }));
    expect(shape(await c.recv())).toEqual([PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, SEC_PKG_ERROR]);
    await c.waitClosed();
  });

  it('integrity without signing, completed by auth3 → its first request faults 0x721 and closes', async () => {
    const { c, fc } = await authBind(h, AuthLevel.Integrity, { user: 'nosign' });
    await c.expectSilence(50);
    c.send(signedRequest(fc, AuthLevel.Integrity, 2, 0, Buffer.from('x')));
    expect(shape(await c.recv())).toEqual([PT.FAULT, 2, FIRST | LAST, 0, SEC_PKG_ERROR]);
    await c.waitClosed();
    expect(h.iface.contexts).toHaveLength(0);
  });

  it('an AUTH3 that leaves the server a token to send makes the context unusable: next request 0x5', async () => {
    const c = await h.connect();
    const fc = new FakeClient('carol', 'alter'); // this exchange ends with a server token (SPNEGO style)
    c.send(bind({ contexts: ctx0, auth: authSpec(fc.hello(), AuthLevel.Integrity) }));
    const ack = await c.recv();
    c.send(auth3({ auth: authSpec(fc.onServerToken(ack.auth!.value)!, AuthLevel.Integrity) }));
    await c.expectSilence(50);
    c.send(signedRequest(fc, AuthLevel.Integrity, 2, 0, Buffer.from('x')));
    expect(shape(await c.recv())).toEqual([PT.FAULT, 2, FIRST | LAST, 0, ACCESS_DENIED]);
    await c.waitClosed();
  });

  it('a request naming a context still in its handshake → protocol error, DID_NOT_EXECUTE, context 0', async () => {
    const c = await boundCtx1();
    const fc = new FakeClient('dave');
    c.send(alter({ callId: 2, contexts: [{ id: 1, abstract: TEST_SYNTAX, transfers: [NDR] }], auth: authSpec(fc.hello(), AuthLevel.Integrity) }));
    fc.onServerToken((await c.recv()).auth!.value);
    c.send(request({ callId: 3, contextId: 1, opnum: 0, stub: Buffer.alloc(0), auth: signWith(fc, AuthLevel.Integrity) }));
    expect(shape(await c.recv())).toEqual([PT.FAULT, 3, FIRST | LAST | DID_NOT_EXECUTE, 0, PROTO_ERROR]);
    await c.waitClosed();
  });

  it('alter_context legs: level changed → 0x5, auth type changed → 0x721, a leg on a finished context → 0x5', async () => {
    const cases: Array<[number, number, number]> = [[AuthLevel.Privacy, FAKE_AUTH_TYPE, ACCESS_DENIED], [AuthLevel.Integrity, 10, SEC_PKG_ERROR]];
    for (const [level, type, status] of cases) {
      const c = await h.connect();
      const fc = new FakeClient('erin', 'alter');
      c.send(bind({ contexts: ctx0, auth: authSpec(fc.hello(), AuthLevel.Integrity) }));
      const ack = await c.recv();
      c.send(alter({ callId: 2, contexts: ctx0, auth: authSpec(fc.onServerToken(ack.auth!.value)!, level, 1, type) }));
      expect(shape(await c.recv())).toEqual([PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, status]);
      await c.waitClosed();
    }
    const { c } = await authBind(h, AuthLevel.Integrity);
    c.send(alter({ callId: 3, contexts: ctx0, auth: authSpec(Buffer.from('HELLO again'), AuthLevel.Integrity) }));
    expect(shape(await c.recv())).toEqual([PT.FAULT, 3, FIRST | LAST | DID_NOT_EXECUTE, 0, ACCESS_DENIED]);
    await c.waitClosed();
  });

  it('auth3 on a finished context → protocol error and close', async () => {
    const { c } = await authBind(h, AuthLevel.Integrity);
    c.send(auth3({ callId: 4, auth: authSpec(Buffer.from('PROOF 00'), AuthLevel.Integrity) }));
    expect(shape(await c.recv())).toEqual([PT.FAULT, 4, FIRST | LAST | DID_NOT_EXECUTE, 0, PROTO_ERROR]);
    await c.waitClosed();
  });

  it('hostile: every wrong leg and verifier above, in a row; a healthy signed client is served afterwards', async () => {
    for (const user of ['nosign', 'noseal']) {
      const { c, fc } = await authBind(h, AuthLevel.Privacy, { user });
      c.send(signedRequest(fc, AuthLevel.Privacy, 2, 0, Buffer.from('x')));
      expect((await c.recv()).status).toBe(SEC_PKG_ERROR);
      await c.waitClosed();
    }
    const bad = await authBind(h, AuthLevel.Integrity);
    const req = signedRequest(bad.fc, AuthLevel.Integrity, 2, 0, Buffer.from('abc'));
    req[req.length - 1] ^= 1;
    bad.c.send(req);
    expect((await bad.c.recv()).status).toBe(SEC_PKG_ERROR);
    await bad.c.waitClosed();
    expect(h.iface.contexts).toHaveLength(0);
    const { c, fc } = await authBind(h, AuthLevel.Privacy);
    c.send(signedRequest(fc, AuthLevel.Privacy, 2, 6, Buffer.alloc(0)));
    expect(JSON.parse(openResponse(fc, await c.recv(), AuthLevel.Privacy).toString()).identity.user).toBe('alice');
    await healthyClientServed();
  });
});

describe('group 5: pfc_flags of bind_ack and alter_context_resp', () => {
  it('SUPPORT_HEADER_SIGN follows each negotiating PDU; CONC_MPX only when the PDU created a context', async () => {
    const c = await h.connect();
    c.send(bind({ flags: FIRST | LAST | HDR_SIGN | CONC_MPX, contexts: ctx0 }));
    expect((await c.recv()).flags).toBe(FIRST | LAST | HDR_SIGN | CONC_MPX);
    c.send(alter({ callId: 2, flags: FIRST | LAST | CONC_MPX, contexts: ctx0 })); // re-offers context 0
    expect((await c.recv()).flags).toBe(FIRST | LAST);
    c.send(alter({ callId: 3, flags: FIRST | LAST | CONC_MPX | HDR_SIGN, contexts: [{ id: 1, abstract: OTHER_SYNTAX, transfers: [NDR] }] }));
    expect((await c.recv()).flags).toBe(FIRST | LAST | HDR_SIGN | CONC_MPX);
    c.send(alter({ callId: 4, flags: 0xff & ~(LAST | FIRST), contexts: [{ id: 2, abstract: UNKNOWN, transfers: [NDR] }] }));
    expect((await c.recv()).flags).toBe(FIRST | LAST | HDR_SIGN);
  });
});

const UNKNOWN = { uuid: 'deadbeef-0000-1111-2222-333344445555', major: 1, minor: 0 };

describe('group 6: presentation context lists', () => {
  it('a second bind-time feature context → bind_nak 0', async () => {
    const c = await h.connect();
    c.send(bind({ contexts: [...ctx0, { id: 1, abstract: TEST_SYNTAX, transfers: [BTFN3] }, { id: 2, abstract: TEST_SYNTAX, transfers: [BTFN3] }] }));
    const nak = await c.recv();
    expect([nak.ptype, nak.flags, nak.rejectReason]).toEqual([PT.BIND_NAK, FIRST | LAST, 0]);
    await c.waitClosed();
  });

  it('two new contexts for one interface in one alter: only the first accepted; features only in bind', async () => {
    const { c } = await h.bound();
    c.send(alter({ callId: 2, contexts: [
      { id: 1, abstract: OTHER_SYNTAX, transfers: [NDR] },
      { id: 2, abstract: OTHER_SYNTAX, transfers: [NDR] },
      { id: 3, abstract: TEST_SYNTAX, transfers: [BTFN3] },
    ] }));
    const r = await c.recv();
    expect(r.results!.map((x) => [x.result, x.reason])).toEqual([[0, 0], [2, 2], [2, 2]]);
    c.send(request({ callId: 3, contextId: 2, opnum: 0, stub: Buffer.alloc(0) }));
    expect(shape(await c.recv())).toEqual([PT.FAULT, 3, FIRST | LAST | DID_NOT_EXECUTE, 0, 0x1c010003]);
    c.send(request({ callId: 4, contextId: 1, opnum: 0, stub: Buffer.from('o') }));
    expect((await c.recv()).stub).toEqual(Buffer.from([1, 0x6f]));
  });

  it('a bind without contexts → bind_nak 4, as Windows 2022 and Samba (2012 R2 answered 0)', async () => {
    const c = await h.connect();
    c.send(bind({ contexts: [] }));
    const nak = await c.recv();
    expect([nak.ptype, nak.flags, nak.rejectReason]).toEqual([PT.BIND_NAK, FIRST | LAST, 4]);
    await c.waitClosed();
  });
});

describe('group 7: where witnessd follows Windows rather than C706', () => {
  it('a response carries the low 8 bits of the context id', async () => {
    const c = await h.connect();
    c.send(bind({ contexts: [{ id: 0x1ff, abstract: TEST_SYNTAX, transfers: [NDR] }] }));
    expect((await c.recv()).results![0].result).toBe(0);
    c.send(request({ callId: 2, contextId: 0x1ff, opnum: 0, stub: Buffer.from('z') }));
    const r = await c.recv();
    expect([r.ptype, r.flags, r.contextId]).toEqual([PT.RESPONSE, FIRST | LAST, 0xff]);
  });
});
