/**
 * Issue 23, rules 5-7 (as Windows Server 2022 and Samba 4.22 answer them; Samba's
 * python/samba/tests/dcerpc/raw_protocol.py): a middle fragment with no call being received on
 * a CONC_MPX connection, the order of an alter_context's checks and its one accepted element,
 * and the NDR64 preference when an existing context is offered again. Every answer is checked
 * for PDU type, flags, status and context id, and whether the connection stays.
 */
import { AuthLevel } from '../../../src/rpc/security';
import { Mgmt_SYNTAX } from '../../../src/gen/mgmt';
import { CONC_MPX, DID_NOT_EXECUTE, FIRST, LAST, NDR, NDR64, PT, alter, auth3, bind, request, type CtxSpec, type Parsed } from './helpers/pdu-builder';
import { type Harness, authSpec, startHarness } from './helpers/harness';
import { FAKE_AUTH_TYPE, FakeClient } from './helpers/fake-security';
import { OTHER_SYNTAX, TEST_SYNTAX } from './helpers/test-interface';
import { signWith } from './helpers/auth-legs';
import type { RawClient } from './helpers/raw-client';

jest.setTimeout(20_000);

const PROTO_ERROR = 0x1c01000b;
const UNKNOWN_IF = 0x1c010003;
const SEC_PKG_ERROR = 0x721;
const ACCESS_DENIED = 5;
const NULL_SYNTAX = { uuid: '00000000-0000-0000-0000-000000000000', major: 0, minor: 0 };
const UNKNOWN = { uuid: 'deadbeef-0000-1111-2222-333344445555', major: 1, minor: 0 };

let h: Harness;
beforeEach(async () => { h = await startHarness(); });
afterEach(async () => { await h.close(); });

/** [ptype, call id, pfc_flags, context id, status] of a fault. */
const shape = (f: Parsed) => [f.ptype, f.callId, f.flags, f.contextId, f.status];
const results = (p: Parsed) => p.results!.map((r) => [r.result, r.reason]);

async function faultAndClose(c: RawClient, want: unknown[]): Promise<void> {
  expect(shape(await c.recv())).toEqual(want);
  await c.waitClosed();
}

/** A request on `contextId` answered (the connection serves on). */
async function served(c: RawClient, callId: number, contextId: number): Promise<void> {
  c.send(request({ callId, contextId, opnum: 0, stub: Buffer.from('k') }));
  const r = await c.recv();
  expect([r.ptype, r.callId, r.contextId]).toEqual([PT.RESPONSE, callId, contextId]);
}

async function boundWith(contexts: CtxSpec[], flags = FIRST | LAST): Promise<{ c: RawClient; ack: Parsed }> {
  const c = await h.connect();
  c.send(bind({ flags, contexts }));
  const ack = await c.recv();
  expect(ack.ptype).toBe(PT.BIND_ACK);
  return { c, ack };
}

const test1 = { id: 1, abstract: TEST_SYNTAX, transfers: [NDR] };

describe('rule 5: a middle fragment with no call being received, on a CONC_MPX connection', () => {
  /** CONC_MPX, presentation context 1, the fake provider's auth context 1 at integrity (bind + auth3). */
  async function mpxAuthBound(): Promise<{ c: RawClient; fc: FakeClient }> {
    const c = await h.connect();
    const fc = new FakeClient('alice');
    c.send(bind({ flags: FIRST | LAST | CONC_MPX, contexts: [test1], auth: authSpec(fc.hello(), AuthLevel.Integrity) }));
    const ack = await c.recv();
    expect(ack.flags & CONC_MPX).toBe(CONC_MPX);
    c.send(auth3({ auth: authSpec(fc.onServerToken(ack.auth!.value)!, AuthLevel.Integrity) }));
    return { c, fc };
  }
  const middle = (contextId: number, auth?: { type?: number; level?: number; contextId?: number }) => request({
    callId: 7, contextId, opnum: 0, stub: Buffer.alloc(32, 1), flags: 0,
    auth: { type: auth?.type ?? FAKE_AUTH_TYPE, level: auth?.level ?? AuthLevel.Integrity, contextId: auth?.contextId ?? 1, sigLength: 16 },
  });

  it('its context unknown → nca_s_unknown_if, DID_NOT_EXECUTE, context 0, and the connection serves on', async () => {
    const { c, fc } = await mpxAuthBound();
    c.send(middle(111, { type: 111, level: 111, contextId: 111 }));
    expect(shape(await c.recv())).toEqual([PT.FAULT, 7, FIRST | LAST | DID_NOT_EXECUTE, 0, UNKNOWN_IF]);
    c.send(request({ callId: 8, contextId: 1, opnum: 0, stub: Buffer.from('m'), auth: signWith(fc, AuthLevel.Integrity) }));
    const r = await c.recv();
    expect([r.ptype, r.callId, r.contextId, c.closed]).toEqual([PT.RESPONSE, 8, 1, false]);
  });

  it.each([
    ['another auth context', { contextId: 111 }],
    ['another auth type', { type: 111 }],
    ['another auth level', { level: AuthLevel.Privacy }],
  ])('a trailer naming %s → 0x5 on the fragment\'s context, and close', async (_what, auth) => {
    const { c } = await mpxAuthBound();
    c.send(middle(1, auth));
    await faultAndClose(c, [PT.FAULT, 7, FIRST | LAST, 1, ACCESS_DENIED]);
  });

  it('otherwise (its own auth context, or no auth at all) → nca_s_proto_error on the fragment\'s context, and close', async () => {
    const { c } = await mpxAuthBound();
    c.send(middle(1));
    await faultAndClose(c, [PT.FAULT, 7, FIRST | LAST, 1, PROTO_ERROR]);
    const { c: d } = await boundWith([test1], FIRST | LAST | CONC_MPX);
    d.send(request({ callId: 9, contextId: 1, opnum: 0, stub: Buffer.alloc(8), flags: LAST }));
    await faultAndClose(d, [PT.FAULT, 9, FIRST | LAST, 1, PROTO_ERROR]);
    expect(h.iface.contexts).toHaveLength(0);
  });

  it('without CONC_MPX the fault stays on context 0 (raw_protocol test_ntlmssp_auth_middle_*)', async () => {
    const { c } = await boundWith([test1]);
    c.send(request({ callId: 9, contextId: 1, opnum: 0, stub: Buffer.alloc(8), flags: 0 }));
    await faultAndClose(c, [PT.FAULT, 9, FIRST | LAST, 0, PROTO_ERROR]);
  });
});

describe('rule 6: alter_context order', () => {
  /** The fake provider's bind leg at integrity on context 1 (to be finished by alter_context). */
  async function legBound(user = 'erin'): Promise<{ c: RawClient; proof: Buffer }> {
    const c = await h.connect();
    const fc = new FakeClient(user, 'alter');
    c.send(bind({ contexts: [test1], auth: authSpec(fc.hello(), AuthLevel.Integrity) }));
    return { c, proof: fc.onServerToken((await c.recv()).auth!.value)! };
  }
  /** Context 1 offered again for another interface: a protocol error of the contexts. */
  const conflict = [{ id: 1, abstract: OTHER_SYNTAX, transfers: [NDR] }];

  it('contexts first: a conflicting context beats the leg\'s changed level (0x5) and type (0x721) → nca_s_proto_error', async () => {
    for (const [level, type] of [[AuthLevel.Privacy, FAKE_AUTH_TYPE], [AuthLevel.Integrity, 10]]) {
      const { c, proof } = await legBound();
      c.send(alter({ callId: 2, contexts: conflict, auth: authSpec(proof, level, 1, type) }));
      await faultAndClose(c, [PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, PROTO_ERROR]);
    }
    const { c, proof } = await legBound();
    c.send(alter({ callId: 2, contexts: [test1], auth: authSpec(proof, AuthLevel.Integrity, 1, 10) }));
    await faultAndClose(c, [PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, SEC_PKG_ERROR]);
  });

  it('refused at once, before the contexts: auth type none on a leg, a leg on a finished context, a new context of an unknown type → 0x5', async () => {
    const { c, proof } = await legBound();
    c.send(alter({ callId: 2, contexts: conflict, auth: authSpec(proof, AuthLevel.Integrity, 1, 0) }));
    await faultAndClose(c, [PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, ACCESS_DENIED]);

    const done = await legBound();
    done.c.send(alter({ callId: 2, contexts: [test1], auth: authSpec(done.proof, AuthLevel.Integrity) }));
    expect((await done.c.recv()).ptype).toBe(PT.ALTER_RESP);
    done.c.send(alter({ callId: 3, contexts: conflict, auth: authSpec(Buffer.from('PROOF 00'), AuthLevel.Integrity) }));
    await faultAndClose(done.c, [PT.FAULT, 3, FIRST | LAST | DID_NOT_EXECUTE, 0, ACCESS_DENIED]);

    const { c: d } = await boundWith([test1]);
    d.send(alter({ callId: 2, contexts: conflict, auth: authSpec(Buffer.from('x'), AuthLevel.Integrity, 5, 0x77) }));
    await faultAndClose(d, [PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, ACCESS_DENIED]);
  });

  it('one element accepted per alter_context; every later one, existing contexts included, gets provider_rejection 2', async () => {
    const { c } = await boundWith([test1]);
    const other2 = { id: 2, abstract: OTHER_SYNTAX, transfers: [NDR] };
    c.send(alter({ callId: 2, contexts: [test1, other2, { id: 3, abstract: UNKNOWN, transfers: [NDR] }] }));
    const a = await c.recv();
    expect([a.ptype, a.flags, results(a)]).toEqual([PT.ALTER_RESP, FIRST | LAST, [[0, 0], [2, 2], [2, 1]]]);
    expect(a.results![1].transfer).toEqual(NULL_SYNTAX);
    c.send(request({ callId: 3, contextId: 2, opnum: 0, stub: Buffer.alloc(0) }));
    expect(shape(await c.recv())).toEqual([PT.FAULT, 3, FIRST | LAST | DID_NOT_EXECUTE, 0, UNKNOWN_IF]);
    c.send(alter({ callId: 4, contexts: [other2, test1] }));
    expect(results(await c.recv())).toEqual([[0, 0], [2, 2]]);
    await served(c, 5, 2);
    await served(c, 6, 1); // the existing context refused in the list is still there
  });

  it('level call with an unknown auth type → bind_nak 8 (the provider is named first); with a known one → 9', async () => {
    for (const [type, reason] of [[0x77, 8], [FAKE_AUTH_TYPE, 9]]) {
      const c = await h.connect();
      c.send(bind({ contexts: [test1], auth: authSpec(Buffer.from('none'), AuthLevel.Call, 1, type) }));
      const nak = await c.recv();
      expect([nak.ptype, nak.flags, nak.rejectReason]).toEqual([PT.BIND_NAK, FIRST | LAST, reason]);
      await c.waitClosed();
    }
  });
});

describe('rule 7: NDR64 preference when an existing context is offered again (decided: as Windows)', () => {
  const mgmt = (id: number, transfers = [NDR]) => ({ id, abstract: Mgmt_SYNTAX, transfers });

  it('an NDR 2.0 context offered again with NDR64 (preferred) → nca_s_proto_error, DID_NOT_EXECUTE, and close', async () => {
    for (const transfers of [[NDR, NDR64], [NDR64]]) {
      const { c } = await boundWith([mgmt(1)]);
      c.send(alter({ callId: 2, contexts: [mgmt(1, transfers)] }));
      await faultAndClose(c, [PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, PROTO_ERROR]);
    }
  });

  it('an NDR64 context offered again with NDR 2.0 only → nca_s_proto_error and close (the same order of preference)', async () => {
    const { c, ack } = await boundWith([mgmt(1, [NDR64])]);
    expect(ack.results![0].transfer).toEqual(NDR64);
    c.send(alter({ callId: 2, contexts: [mgmt(1, [NDR])] }));
    await faultAndClose(c, [PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, PROTO_ERROR]);
  });

  it('offered again with its own syntax it is accepted; with no syntax we negotiate, refused with reason 2 and kept', async () => {
    const { c } = await boundWith([mgmt(1, [NDR64])]);
    c.send(alter({ callId: 2, contexts: [mgmt(1, [NDR, NDR64])] }));
    const a = await c.recv();
    expect([a.ptype, results(a), a.results![0].transfer]).toEqual([PT.ALTER_RESP, [[0, 0]], NDR64]);
    c.send(alter({ callId: 3, contexts: [mgmt(1, [UNKNOWN])] }));
    const b = await c.recv();
    expect([b.ptype, results(b)]).toEqual([PT.ALTER_RESP, [[2, 2]]]);
    c.send(request({ callId: 4, contextId: 1, opnum: 4, stub: Buffer.from([0x45, 0, 0, 0, 64, 0, 0, 0]) }));
    expect([(await c.recv()).ptype, c.closed]).toEqual([PT.RESPONSE, false]);
  });

  it('new contexts follow the same preference: of two elements for one interface, the NDR64 one is accepted', async () => {
    const { ack } = await boundWith([mgmt(0, [NDR]), mgmt(1, [NDR64])]);
    expect(ack.results).toEqual([
      { result: 2, reason: 2, transfer: NULL_SYNTAX },
      { result: 0, reason: 0, transfer: NDR64 },
    ]);
  });
});
