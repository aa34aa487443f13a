/**
 * Auth plumbing against a toy HMAC provider: legs (bind/auth3, bind/alter), sec_trailer and
 * padding, verifiers both ways, sealing, refusals, minimum level, several auth contexts,
 * header-signing flag, and the verification trailer.
 */
import { AuthLevel } from '../../../src/rpc/security';
import { HDR_SIGN, FIRST, LAST, NDR, PT, alter, auth3, bind, request, type Parsed } from './helpers/pdu-builder';
import { authBind as authBindOn, ctx0, openResponse, signedRequest } from './helpers/auth-legs';
import { type Harness, authSpec, startHarness } from './helpers/harness';
import { FAKE_AUTH_TYPE, FakeClient } from './helpers/fake-security';
import { OTHER_SYNTAX, TEST_SYNTAX, u32le } from './helpers/test-interface';

jest.setTimeout(15000);

let h: Harness;
afterEach(async () => { await h.close(); });

const authBind = (level: number, opts: Parameters<typeof authBindOn>[2] = {}) => authBindOn(h, level, opts);

describe('auth legs', () => {
  beforeEach(async () => { h = await startHarness(); });

  it('bind → bind_ack(token) → auth3, then signed calls at integrity with the identity in the call context', async () => {
    const { c, fc } = await authBind(AuthLevel.Integrity);
    c.send(signedRequest(fc, AuthLevel.Integrity, 2, 6, Buffer.alloc(0)));
    const who = JSON.parse(openResponse(fc, await c.recv(), AuthLevel.Integrity).toString());
    expect(who.identity).toEqual({ domain: 'TESTDOM', user: 'alice', anonymous: false });
    expect(who.authLevel).toBe(AuthLevel.Integrity);
    c.send(signedRequest(fc, AuthLevel.Integrity, 3, 0, Buffer.from('abc')));
    expect(openResponse(fc, await c.recv(), AuthLevel.Integrity)).toEqual(Buffer.from([1, 0x61, 0x62, 0x63]));
  });

  it('privacy: request and response stubs are sealed, fragmented responses protected per fragment', async () => {
    const { c, fc } = await authBind(AuthLevel.Privacy, { maxXmit: 2048 });
    const req = signedRequest(fc, AuthLevel.Privacy, 2, 0, Buffer.from('secret!'));
    expect(req.includes(Buffer.from('secret!'))).toBe(false);
    c.send(req);
    const r = await c.recv();
    expect(r.raw.includes(Buffer.from('secret!'))).toBe(false);
    expect(openResponse(fc, r, AuthLevel.Privacy)).toEqual(Buffer.from('\x01secret!', 'latin1'));
    c.send(signedRequest(fc, AuthLevel.Privacy, 3, 5, u32le(10000)));
    const parts: Buffer[] = [];
    for (;;) {
      const x = await c.recv();
      expect(x.fragLength).toBeLessThanOrEqual(2048);
      parts.push(openResponse(fc, x, AuthLevel.Privacy));
      if (x.flags & LAST) break;
    }
    const all = Buffer.concat(parts);
    expect(all.length).toBe(10000);
    expect(all.every((b, i) => b === (i & 0xff))).toBe(true);
  });

  it('bind → alter_context leg (SPNEGO style) completes the context', async () => {
    h.server.options; // same server
    const c = await h.connect();
    const fc = new FakeClient('bob', 'alter');
    c.send(bind({ contexts: ctx0, auth: authSpec(fc.hello(), AuthLevel.Integrity) }));
    const ack = await c.recv();
    const proof = fc.onServerToken(ack.auth!.value)!;
    c.send(alter({ callId: 2, contexts: ctx0, auth: authSpec(proof, AuthLevel.Integrity) }));
    const resp = await c.recv();
    expect(resp.ptype).toBe(PT.ALTER_RESP);
    expect(resp.auth!.value.toString()).toBe('OK');
    c.send(signedRequest(fc, AuthLevel.Integrity, 3, 6, Buffer.alloc(0)));
    expect(JSON.parse(openResponse(fc, await c.recv(), AuthLevel.Integrity).toString()).identity.user).toBe('bob');
  });

  it('unknown auth type → bind_nak reason 8', async () => {
    const c = await h.connect();
    c.send(bind({ contexts: ctx0, auth: authSpec(Buffer.from('x'), AuthLevel.Integrity, 1, 9) }));
    const nak = await c.recv();
    expect([nak.ptype, nak.rejectReason]).toEqual([PT.BIND_NAK, 8]);
    await c.waitClosed();
  });

  it('AuthRejected in bind → bind_nak with its reason (9 by default, 8 when asked)', async () => {
    for (const [user, reason] of [['reject', 9], ['reject8', 8], ['explode', 0]] as const) {
      const c = await h.connect();
      c.send(bind({ contexts: ctx0, auth: authSpec(Buffer.from(`HELLO ${user}`), AuthLevel.Integrity) }));
      expect((await c.recv()).rejectReason).toBe(reason);
      await c.waitClosed();
    }
  });

  it('a refused auth3 leaves no reply; the next request on that context is refused with 0x5 and the connection closed', async () => {
    const c = await h.connect();
    const fc = new FakeClient('carol');
    c.send(bind({ contexts: ctx0, auth: authSpec(fc.hello(), AuthLevel.Integrity) }));
    const ack = await c.recv();
    c.send(auth3({ auth: authSpec(fc.wrongProof(ack.auth!.value), AuthLevel.Integrity) }));
    await c.expectSilence(100);
    c.send(signedRequest(fc, AuthLevel.Integrity, 2, 0, Buffer.alloc(0)));
    const f = await c.recv();
    expect([f.ptype, f.status]).toEqual([PT.FAULT, 5]);
    await c.waitClosed();
  });

  it('a bad verifier → fault rpc_s_sec_pkg_error (0x721), FIRST|LAST only, and close', async () => {
    const { c, fc } = await authBind(AuthLevel.Integrity);
    const req = signedRequest(fc, AuthLevel.Integrity, 2, 0, Buffer.from('abc'));
    req[25] ^= 0xff; // flip a stub byte after signing
    c.send(req);
    const f = await c.recv();
    expect([f.ptype, f.callId, f.flags, f.contextId, f.status]).toEqual([PT.FAULT, 2, FIRST | LAST, 0, 0x721]);
    await c.waitClosed();
  });

  it('a request on an unknown auth context id or with another level → fault 0x5 and close', async () => {
    const { c, fc } = await authBind(AuthLevel.Integrity);
    c.send(signedRequest(fc, AuthLevel.Integrity, 2, 0, Buffer.alloc(0), 77));
    expect((await c.recv()).status).toBe(5);
    await c.waitClosed();
    const second = await authBind(AuthLevel.Integrity);
    second.c.send(signedRequest(second.fc, AuthLevel.Privacy, 2, 0, Buffer.alloc(0)));
    expect((await second.c.recv()).status).toBe(5);
  });

  it('a request before the auth legs finished → fault and close', async () => {
    const c = await h.connect();
    const fc = new FakeClient('dave');
    c.send(bind({ contexts: ctx0, auth: authSpec(fc.hello(), AuthLevel.Integrity) }));
    const ack = await c.recv();
    fc.onServerToken(ack.auth!.value);
    c.send(signedRequest(fc, AuthLevel.Integrity, 2, 0, Buffer.alloc(0)));
    expect((await c.recv()).ptype).toBe(PT.FAULT);
    await c.waitClosed();
  });

  it('echoes PFC_SUPPORT_HEADER_SIGN whenever the bind carries it, with or without auth (as Windows)', async () => {
    const { ack } = await authBind(AuthLevel.Integrity, { flags: FIRST | LAST | HDR_SIGN });
    expect(ack.flags).toBe(FIRST | LAST | HDR_SIGN);
    const plain = await authBind(AuthLevel.Integrity);
    expect(plain.ack.flags).toBe(FIRST | LAST);
    const c = await h.connect();
    c.send(bind({ flags: FIRST | LAST | HDR_SIGN, contexts: ctx0 }));
    expect((await c.recv()).flags).toBe(FIRST | LAST | HDR_SIGN);
  });

  it('several auth contexts on one connection (security context multiplexing)', async () => {
    const { c, fc } = await authBind(AuthLevel.Integrity, { contextId: 1, user: 'alice' });
    const fc2 = new FakeClient('erin', 'alter');
    c.send(alter({ callId: 5, contexts: ctx0, auth: authSpec(fc2.hello(), AuthLevel.Privacy, 2) }));
    const r1 = await c.recv();
    c.send(alter({ callId: 6, contexts: ctx0, auth: authSpec(fc2.onServerToken(r1.auth!.value)!, AuthLevel.Privacy, 2) }));
    expect((await c.recv()).ptype).toBe(PT.ALTER_RESP);
    c.send(signedRequest(fc2, AuthLevel.Privacy, 7, 6, Buffer.alloc(0), 2));
    const who2 = JSON.parse(openResponse(fc2, await c.recv(), AuthLevel.Privacy).toString());
    expect([who2.identity.user, who2.authLevel]).toEqual(['erin', AuthLevel.Privacy]);
    c.send(signedRequest(fc, AuthLevel.Integrity, 8, 6, Buffer.alloc(0), 1));
    const who1 = JSON.parse(openResponse(fc, await c.recv(), AuthLevel.Integrity).toString());
    expect([who1.identity.user, who1.authLevel]).toEqual(['alice', AuthLevel.Integrity]);
  });

  it('an unauthenticated call on an authenticated connection runs at level none', async () => {
    const { c } = await authBind(AuthLevel.Integrity);
    c.send(request({ callId: 2, opnum: 6, stub: Buffer.alloc(0) }));
    const r = await c.recv();
    expect(r.auth).toBeUndefined();
    const who = JSON.parse(r.stub!.toString());
    expect([who.identity, who.authLevel]).toEqual([null, AuthLevel.None]);
  });
});

describe('minimum auth level', () => {
  beforeEach(async () => { h = await startHarness({ minAuthLevel: AuthLevel.Integrity }); });

  it('faults 0x5 below the minimum and serves at or above it', async () => {
    const anon = await h.bound();
    anon.c.send(request({ callId: 2, opnum: 0, stub: Buffer.alloc(0) }));
    const f = await anon.c.recv();
    expect([f.ptype, f.status]).toEqual([PT.FAULT, 5]);
    const { c, fc } = await authBind(AuthLevel.Integrity);
    c.send(signedRequest(fc, AuthLevel.Integrity, 2, 0, Buffer.from('ok')));
    expect(openResponse(fc, await c.recv(), AuthLevel.Integrity)).toEqual(Buffer.from([1, 0x6f, 0x6b]));
    expect(h.iface.contexts).toHaveLength(1);
  });

  it('an interface registered at None answers anonymous calls (the endpoint mapper) while the others keep the minimum; both change on the next call', async () => {
    await h.close();
    h = await startHarness({ minAuthLevel: AuthLevel.Integrity, otherMinAuthLevel: AuthLevel.None });
    const c = await h.connect();
    c.send(bind({ callId: 1, contexts: [{ id: 0, abstract: TEST_SYNTAX, transfers: [NDR] }, { id: 1, abstract: OTHER_SYNTAX, transfers: [NDR] }] }));
    expect((await c.recv()).ptype).toBe(PT.BIND_ACK);
    const ask = async (callId: number, contextId: number): Promise<Parsed> => {
      c.send(request({ callId, contextId, opnum: 0, stub: Buffer.from('x') }));
      return c.recv();
    };
    expect((await ask(2, 1)).stub).toEqual(Buffer.from([1, 0x78]));
    expect([(await ask(3, 0)).ptype, (await ask(4, 0)).status]).toEqual([PT.FAULT, 5]);
    // A reload changes the levels: the default for the test interface, its own for the other.
    h.server.setMinAuthLevel(AuthLevel.None);
    h.server.setMinAuthLevel(AuthLevel.Privacy, h.other);
    expect((await ask(5, 0)).stub).toEqual(Buffer.from([1, 0x78]));
    expect((await ask(6, 1)).status).toBe(5);
    expect([h.iface.contexts.length, h.other.contexts.length]).toEqual([1, 1]);
  });
});

describe('verification trailer', () => {
  beforeEach(async () => { h = await startHarness(); });

  function vt(opts: { opnum: number; callId: number; ctxId?: number; bitmask?: number; syntax?: typeof TEST_SYNTAX }): Buffer {
    const b: number[] = [0x8a, 0xe3, 0x13, 0x71, 0x02, 0xf4, 0x36, 0x71];
    const u16 = (v: number) => b.push(v & 0xff, v >> 8);
    const u32 = (v: number) => { u16(v & 0xffff); u16(v >>> 16); };
    const syn = (s: typeof TEST_SYNTAX) => {
      const hex = s.uuid.replace(/-/g, '');
      u32(parseInt(hex.slice(0, 8), 16)); u16(parseInt(hex.slice(8, 12), 16)); u16(parseInt(hex.slice(12, 16), 16));
      b.push(...Buffer.from(hex.slice(16), 'hex'));
      u32((s.minor << 16) | s.major);
    };
    u16(0x0001); u16(4); u32(opts.bitmask ?? 1);
    u16(0x0002); u16(40); syn(opts.syntax ?? TEST_SYNTAX); syn(NDR);
    u16(0x4003); u16(16); b.push(0, 0, 0, 0, 0x10, 0, 0, 0); u32(opts.callId); u16(opts.ctxId ?? 0); u16(opts.opnum);
    return Buffer.from(b);
  }

  it('is recognised, checked and removed before the stub reaches the interface', async () => {
    const { c, fc } = await authBind(AuthLevel.Integrity, { flags: FIRST | LAST | HDR_SIGN });
    const stub = Buffer.concat([Buffer.from('data'), vt({ opnum: 0, callId: 2 })]);
    c.send(signedRequest(fc, AuthLevel.Integrity, 2, 0, stub));
    expect(openResponse(fc, await c.recv(), AuthLevel.Integrity)).toEqual(Buffer.from('\x01data', 'latin1'));
  });

  it('a trailer that contradicts the PDU → fault 0x5', async () => {
    const { c, fc } = await authBind(AuthLevel.Integrity, { flags: FIRST | LAST | HDR_SIGN });
    c.send(signedRequest(fc, AuthLevel.Integrity, 2, 0, Buffer.concat([Buffer.from('data'), vt({ opnum: 3, callId: 2 })])));
    expect((await c.recv()).status).toBe(5);
    c.send(signedRequest(fc, AuthLevel.Integrity, 3, 0, Buffer.concat([Buffer.from('data'), vt({ opnum: 0, callId: 3, syntax: { ...TEST_SYNTAX, minor: 0 } })])));
    expect((await c.recv()).status).toBe(5);
  });

  it('claims header signing that was not negotiated → fault 0x5', async () => {
    const { c, fc } = await authBind(AuthLevel.Integrity);
    c.send(signedRequest(fc, AuthLevel.Integrity, 2, 0, Buffer.concat([Buffer.from('data'), vt({ opnum: 0, callId: 2 })])));
    expect((await c.recv()).status).toBe(5);
  });

  it('a magic inside ordinary stub data is left alone', async () => {
    const { c } = await h.bound();
    const stub = Buffer.from([0x8a, 0xe3, 0x13, 0x71, 0x02, 0xf4, 0x36, 0x71, 0xff, 0xff, 0xff, 0xff]);
    c.send(request({ callId: 2, opnum: 0, stub }));
    expect((await c.recv()).stub).toEqual(Buffer.concat([Buffer.from([1]), stub]));
  });
});
