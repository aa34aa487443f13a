/**
 * Issue 23, rules 1-4 and 8 (the auth legs, as Windows Server 2022 and Samba 4.22 answer them;
 * Samba's python/samba/tests/dcerpc/raw_protocol.py): sec_trailer placement and auth_pad_length,
 * NTLMSSP messages over 2,888 bytes, trailing bytes after the first SPNEGO token and the AUTH3
 * size limit, an AUTH3 that leaves SPNEGO unfinished, integrity without NTLMSSP signing. Every
 * answer is checked for PDU type, flags, status and context id, and whether the connection stays.
 */
import { AuthLevel } from '../../../src/rpc/security';
import { createNtlmsspProvider, createSpnegoProvider, MemoryAccountSource } from '../../../src/auth';
import { encodeMechTypeList, encodeNegTokenInit, encodeNegTokenResp, parseNegotiationToken, OID, type NegTokenResp } from '../../../src/auth/spnego-token';
import { DID_NOT_EXECUTE, FIRST, LAST, NDR, PT, alter, auth3, bind, request, type Parsed } from './helpers/pdu-builder';
import { type Harness, authSpec, startHarness } from './helpers/harness';
import { FakeClient, fakeProvider } from './helpers/fake-security';
import { TEST_SYNTAX } from './helpers/test-interface';
import { signWith } from './helpers/auth-legs';
import type { RawClient } from './helpers/raw-client';
import { TestNtlmClient } from '../../unit/auth/ntlm-test-client';

jest.setTimeout(20_000);

const PROTO_ERROR = 0x1c01000b;
const REMOTE_NO_MEMORY = 0x1c00001b;
const SEC_PKG_ERROR = 0x721;
const ACCESS_DENIED = 5;
const NTLMSSP = 10;
const SPNEGO = 9;
/** Presentation context 1, so that a fault's context id says which one it names. */
const ctx1 = [{ id: 1, abstract: TEST_SYNTAX, transfers: [NDR] }];

const accounts = new MemoryAccountSource([{ user: 'alice', password: 'Secret123' }]);
const ntlmOpts = { accounts, netbiosComputerName: 'WITNESS1', netbiosDomainName: 'TESTDOM' };

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ securityProviders: [fakeProvider, createNtlmsspProvider(ntlmOpts), createSpnegoProvider(ntlmOpts)] });
});
afterEach(async () => { await h.close(); });

/** [ptype, call id, pfc_flags, context id, status] of a fault. */
const shape = (f: Parsed) => [f.ptype, f.callId, f.flags, f.contextId, f.status];
const nakShape = (n: Parsed) => [n.ptype, n.flags, n.rejectReason];

/** Expect one fault of this shape, then the server's close. */
async function faultAndClose(c: RawClient, want: unknown[]): Promise<void> {
  expect(shape(await c.recv())).toEqual(want);
  await c.waitClosed();
}

/** The fake provider's bind leg on presentation context 1; returns the client and the server's token. */
async function fakeBind(level: number, opts: { user?: string; mode?: 'three' | 'alter'; padLength?: number; gap?: number } = {}) {
  const c = await h.connect();
  const fc = new FakeClient(opts.user ?? 'alice', opts.mode ?? 'three');
  c.send(bind({ contexts: ctx1, auth: { ...authSpec(fc.hello(), level), padLength: opts.padLength, gap: opts.gap } }));
  return { c, fc };
}

const ntlmClient = (flags?: number) => new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123', withMic: true, flags });
/** Without a MIC, which would not cover the padding a test appends: only the length can refuse. */
const noMicClient = () => new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' });
const pad = (b: Buffer, total: number) => Buffer.concat([b, Buffer.alloc(total - b.length, 0xfa)]);
/** A request signed by an NTLMSSP client at integrity. */
const ntlmSigned = (ntlm: TestNtlmClient, type: number, callId: number, stub: Buffer) =>
  request({ callId, contextId: 1, opnum: 0, stub, auth: { type, level: AuthLevel.Integrity, contextId: 1, sigLength: 16, protect: (pdu, s, e) => ntlm.send.signPdu(pdu, false, s, e) } });

describe('rule 1: sec_trailer placement and auth_pad_length on bind, alter_context and auth3', () => {
  it('bytes between the body and the trailer are ignored (a bind buffer reused with a lowered context count, gaps before alter and auth3 trailers)', async () => {
    const c = await h.connect();
    const fc = new FakeClient('alice', 'alter');
    const b = bind({ contexts: [...ctx1, { id: 2, abstract: TEST_SYNTAX, transfers: [NDR] }], auth: authSpec(fc.hello(), AuthLevel.Integrity) });
    b[24] = 1; // n_context_elem: the second element's bytes now lie between the body and the trailer
    c.send(b);
    const ack = await c.recv();
    expect([ack.ptype, ack.results!.length, ack.results![0].result]).toEqual([PT.BIND_ACK, 1, 0]);
    c.send(alter({ callId: 2, contexts: ctx1, auth: { ...authSpec(fc.onServerToken(ack.auth!.value)!, AuthLevel.Integrity), gap: 8 } }));
    expect((await c.recv()).ptype).toBe(PT.ALTER_RESP);
    c.send(request({ callId: 3, contextId: 1, opnum: 0, stub: Buffer.from('a'), auth: signWith(fc, AuthLevel.Integrity) }));
    expect([(await c.recv()).ptype, c.closed]).toEqual([PT.RESPONSE, false]);

    const { c: d, fc: fd } = await fakeBind(AuthLevel.Integrity);
    const ack2 = await d.recv();
    d.send(auth3({ auth: { ...authSpec(fd.onServerToken(ack2.auth!.value)!, AuthLevel.Integrity), gap: 4 } }));
    await d.expectSilence(50);
    d.send(request({ callId: 2, contextId: 1, opnum: 0, stub: Buffer.from('b'), auth: signWith(fd, AuthLevel.Integrity) }));
    expect([(await d.recv()).ptype, d.closed]).toEqual([PT.RESPONSE, false]);
  });

  it('a trailer off its 4-byte boundary: bind → bind_nak 0; alter_context and auth3 → nca_s_proto_error, DID_NOT_EXECUTE; a request → nca_s_proto_error on its context', async () => {
    const { c } = await fakeBind(AuthLevel.Integrity, { gap: 2 });
    expect(nakShape(await c.recv())).toEqual([PT.BIND_NAK, FIRST | LAST, 0]);
    await c.waitClosed();

    const alt = await fakeBind(AuthLevel.Integrity, { mode: 'alter' });
    const ack = await alt.c.recv();
    alt.c.send(alter({ callId: 2, contexts: ctx1, auth: { ...authSpec(alt.fc.onServerToken(ack.auth!.value)!, AuthLevel.Integrity), gap: 2 } }));
    await faultAndClose(alt.c, [PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, PROTO_ERROR]);

    const a3 = await fakeBind(AuthLevel.Integrity);
    const ack3 = await a3.c.recv();
    a3.c.send(auth3({ callId: 7, auth: { ...authSpec(a3.fc.onServerToken(ack3.auth!.value)!, AuthLevel.Integrity), gap: 2 } }));
    await faultAndClose(a3.c, [PT.FAULT, 7, FIRST | LAST | DID_NOT_EXECUTE, 0, PROTO_ERROR]);

    const r = await fakeBind(AuthLevel.Integrity);
    const ackR = await r.c.recv();
    r.c.send(auth3({ auth: authSpec(r.fc.onServerToken(ackR.auth!.value)!, AuthLevel.Integrity) }));
    // 17 stub bytes padded to a multiple of 2: the trailer starts at offset 42 (raw_protocol test_spnego_integrity_bind_auth_align2).
    r.c.send(request({ callId: 2, contextId: 1, opnum: 0, stub: Buffer.alloc(17), auth: { ...signWith(r.fc, AuthLevel.Integrity), align: 2 } }));
    await faultAndClose(r.c, [PT.FAULT, 2, FIRST | LAST, 1, PROTO_ERROR]);
    expect(h.iface.contexts).toHaveLength(0);
  });

  it('auth_pad_length other than 0: bind → bind_nak 4; alter_context → nca_s_proto_error; auth3 → nca_s_fault_remote_no_memory (Windows 2022)', async () => {
    const { c } = await fakeBind(AuthLevel.Integrity, { padLength: 4 });
    expect(nakShape(await c.recv())).toEqual([PT.BIND_NAK, FIRST | LAST, 4]);
    await c.waitClosed();

    const alt = await fakeBind(AuthLevel.Integrity, { mode: 'alter' });
    const ack = await alt.c.recv();
    alt.c.send(alter({ callId: 2, contexts: ctx1, auth: { ...authSpec(alt.fc.onServerToken(ack.auth!.value)!, AuthLevel.Integrity), padLength: 4 } }));
    await faultAndClose(alt.c, [PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, PROTO_ERROR]);

    const a3 = await fakeBind(AuthLevel.Integrity);
    const ack3 = await a3.c.recv();
    a3.c.send(auth3({ callId: 3, auth: { ...authSpec(a3.fc.onServerToken(ack3.auth!.value)!, AuthLevel.Integrity), padLength: 4 } }));
    await faultAndClose(a3.c, [PT.FAULT, 3, FIRST | LAST | DID_NOT_EXECUTE, 0, REMOTE_NO_MEMORY]);
  });
});

describe('rule 2: NTLMSSP messages over 2,888 bytes (Windows\' NTLM SSP)', () => {
  it('bind → bind_nak 9; 2,888 bytes still pass, in bind and in auth3', async () => {
    const c = await h.connect();
    c.send(bind({ contexts: ctx1, auth: authSpec(pad(ntlmClient().negotiate(), 2889), AuthLevel.Integrity, 1, NTLMSSP) }));
    expect(nakShape(await c.recv())).toEqual([PT.BIND_NAK, FIRST | LAST, 9]);
    await c.waitClosed();

    const d = await h.connect();
    const ntlm = noMicClient();
    d.send(bind({ contexts: ctx1, auth: authSpec(pad(ntlm.negotiate(), 2888), AuthLevel.Integrity, 1, NTLMSSP) }));
    const ack = await d.recv();
    expect(ack.ptype).toBe(PT.BIND_ACK);
    d.send(auth3({ auth: authSpec(pad(ntlm.authenticate(ack.auth!.value), 2888), AuthLevel.Integrity, 1, NTLMSSP) }));
    await d.expectSilence(50);
    d.send(ntlmSigned(ntlm, NTLMSSP, 2, Buffer.from('x')));
    const r = await d.recv();
    expect([r.ptype, r.contextId, r.stub]).toEqual([PT.RESPONSE, 1, Buffer.from([1, 0x78])]);
  });

  it('alter_context → fault 0x5, DID_NOT_EXECUTE, and close', async () => {
    const c = await h.connect();
    const ntlm = noMicClient();
    c.send(bind({ contexts: ctx1, auth: authSpec(ntlm.negotiate(), AuthLevel.Integrity, 1, NTLMSSP) }));
    const ack = await c.recv();
    c.send(alter({ callId: 2, contexts: ctx1, auth: authSpec(pad(ntlm.authenticate(ack.auth!.value), 2889), AuthLevel.Integrity, 1, NTLMSSP) }));
    await faultAndClose(c, [PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, ACCESS_DENIED]);
  });

  it('auth3 → no answer; the next request on that context → fault 0x5 and close', async () => {
    const c = await h.connect();
    const ntlm = noMicClient();
    c.send(bind({ contexts: ctx1, auth: authSpec(ntlm.negotiate(), AuthLevel.Integrity, 1, NTLMSSP) }));
    const ack = await c.recv();
    c.send(auth3({ auth: authSpec(pad(ntlm.authenticate(ack.auth!.value), 2889), AuthLevel.Integrity, 1, NTLMSSP) }));
    await c.expectSilence(100);
    expect(c.closed).toBe(false);
    c.send(ntlmSigned(ntlm, NTLMSSP, 3, Buffer.from('x')));
    await faultAndClose(c, [PT.FAULT, 3, FIRST | LAST, 1, ACCESS_DENIED]);
    expect(h.iface.contexts).toHaveLength(0);
  });
});

/** SPNEGO over NTLMSSP: bind (NegTokenInit + NEGOTIATE, `tail` bytes after it); returns the CHALLENGE. */
async function spnegoBind(c: RawClient, ntlm: TestNtlmClient, level: number, tail = 0): Promise<Buffer> {
  const init = encodeNegTokenInit([OID.NTLMSSP], ntlm.negotiate());
  c.send(bind({ contexts: ctx1, auth: authSpec(Buffer.concat([init, Buffer.alloc(tail, 0xfa)]), level, 1, SPNEGO) }));
  const ack = await c.recv();
  expect(ack.ptype).toBe(PT.BIND_ACK);
  return (parseNegotiationToken(ack.auth!.value) as NegTokenResp).responseToken!;
}

/** The AUTHENTICATE leg's SPNEGO token; with `mic` the client's mechListMIC too. */
function spnegoAuthenticate(ntlm: TestNtlmClient, challenge: Buffer, mic: boolean): Buffer {
  const responseToken = ntlm.authenticate(challenge);
  const mechListMIC = mic ? ntlm.send.signPdu(encodeMechTypeList([OID.NTLMSSP]), false) : undefined;
  return encodeNegTokenResp({ responseToken, mechListMIC });
}

describe('rule 3: trailing bytes after the first SPNEGO token; the AUTH3 size limit', () => {
  it('the first token may be followed by octets the client did not fill (MS-RPCE 2.2.2.11); the context completes and serves', async () => {
    const c = await h.connect();
    const ntlm = ntlmClient();
    const challenge = await spnegoBind(c, ntlm, AuthLevel.Integrity, 100);
    c.send(alter({ callId: 2, contexts: ctx1, auth: authSpec(spnegoAuthenticate(ntlm, challenge, true), AuthLevel.Integrity, 1, SPNEGO) }));
    const resp = await c.recv();
    expect(resp.ptype).toBe(PT.ALTER_RESP);
    expect(ntlm.recv.verifyPdu(encodeMechTypeList([OID.NTLMSSP]), (parseNegotiationToken(resp.auth!.value) as NegTokenResp).mechListMIC!, false)).toBe(true);
    ntlm.send.resetRc4();
    ntlm.recv.resetRc4();
    c.send(ntlmSigned(ntlm, SPNEGO, 3, Buffer.from('y')));
    const r = await c.recv();
    expect([r.ptype, r.contextId, r.stub]).toEqual([PT.RESPONSE, 1, Buffer.from([1, 0x79])]);
  });

  it('later legs stay strict: trailing bytes after the alter_context token → fault 0x5, DID_NOT_EXECUTE, and close', async () => {
    const c = await h.connect();
    const ntlm = ntlmClient();
    const challenge = await spnegoBind(c, ntlm, AuthLevel.Integrity);
    const token = Buffer.concat([spnegoAuthenticate(ntlm, challenge, true), Buffer.alloc(16, 0xfa)]);
    c.send(alter({ callId: 2, contexts: ctx1, auth: authSpec(token, AuthLevel.Integrity, 1, SPNEGO) }));
    await faultAndClose(c, [PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, ACCESS_DENIED]);
  });

  it('an AUTH3 whose auth_length exceeds 4,096 → nca_s_proto_error, DID_NOT_EXECUTE, and close; 4,096 is read (and refused silently)', async () => {
    const c = await h.connect();
    const ntlm = ntlmClient();
    const challenge = await spnegoBind(c, ntlm, AuthLevel.Integrity);
    c.send(auth3({ callId: 2, auth: authSpec(pad(spnegoAuthenticate(ntlm, challenge, true), 4097), AuthLevel.Integrity, 1, SPNEGO) }));
    await faultAndClose(c, [PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, PROTO_ERROR]);

    const d = await h.connect();
    const ntlm2 = ntlmClient();
    const challenge2 = await spnegoBind(d, ntlm2, AuthLevel.Integrity);
    d.send(auth3({ callId: 2, auth: authSpec(pad(spnegoAuthenticate(ntlm2, challenge2, true), 4096), AuthLevel.Integrity, 1, SPNEGO) }));
    await d.expectSilence(100);
    expect(d.closed).toBe(false);
  });
});

describe('rule 4: a security context that AUTH3 leaves unfinished', () => {
  it('SPNEGO at level connect, AUTH3 without the owed mechListMIC: no answer; a request without a trailer → 0x5 and close, never run anonymously', async () => {
    const c = await h.connect();
    const ntlm = ntlmClient();
    const challenge = await spnegoBind(c, ntlm, AuthLevel.Connect);
    c.send(auth3({ auth: authSpec(spnegoAuthenticate(ntlm, challenge, false), AuthLevel.Connect, 1, SPNEGO) }));
    await c.expectSilence(100);
    c.send(request({ callId: 3, contextId: 1, opnum: 6, stub: Buffer.alloc(0) }));
    await faultAndClose(c, [PT.FAULT, 3, FIRST | LAST, 1, ACCESS_DENIED]);
    expect(h.iface.contexts).toHaveLength(0);
  });

  it('the same at integrity: the next signed request on that context → 0x5 and close', async () => {
    const c = await h.connect();
    const ntlm = ntlmClient();
    const challenge = await spnegoBind(c, ntlm, AuthLevel.Integrity);
    c.send(auth3({ auth: authSpec(spnegoAuthenticate(ntlm, challenge, true), AuthLevel.Integrity, 1, SPNEGO) }));
    await c.expectSilence(100);
    c.send(ntlmSigned(ntlm, SPNEGO, 3, Buffer.from('z')));
    await faultAndClose(c, [PT.FAULT, 3, FIRST | LAST, 1, ACCESS_DENIED]);
  });

  it('a connect-level context still in its handshake refuses a request without a trailer (protocol error); a finished one serves it with its identity', async () => {
    const c = await h.connect();
    await spnegoBind(c, ntlmClient(), AuthLevel.Connect);
    c.send(request({ callId: 3, contextId: 1, opnum: 6, stub: Buffer.alloc(0) }));
    await faultAndClose(c, [PT.FAULT, 3, FIRST | LAST | DID_NOT_EXECUTE, 0, PROTO_ERROR]);

    const d = await h.connect();
    const ntlm = ntlmClient();
    const challenge = await spnegoBind(d, ntlm, AuthLevel.Connect);
    d.send(alter({ callId: 2, contexts: ctx1, auth: authSpec(spnegoAuthenticate(ntlm, challenge, true), AuthLevel.Connect, 1, SPNEGO) }));
    expect((await d.recv()).ptype).toBe(PT.ALTER_RESP);
    d.send(request({ callId: 3, contextId: 1, opnum: 6, stub: Buffer.alloc(0) }));
    const who = JSON.parse((await d.recv()).stub!.toString());
    expect([who.identity.user, who.authLevel]).toEqual(['alice', AuthLevel.Connect]);
  });
});

describe('rule 8: integrity or packet level when the context cannot sign (decided: as Windows 2022)', () => {
  it.each([['integrity', AuthLevel.Integrity], ['packet', AuthLevel.Packet]])('%s: the legs complete; the first request → fault 0x721 and close, nothing runs', async (_name, level) => {
    const { c, fc } = await fakeBind(level, { user: 'nosign', mode: 'alter' });
    const ack = await c.recv();
    expect(ack.ptype).toBe(PT.BIND_ACK);
    c.send(alter({ callId: 2, contexts: ctx1, auth: authSpec(fc.onServerToken(ack.auth!.value)!, level) }));
    const resp = await c.recv();
    expect([resp.ptype, resp.auth!.value.toString()]).toEqual([PT.ALTER_RESP, 'OK']);
    c.send(request({ callId: 3, contextId: 1, opnum: 0, stub: Buffer.from('s'), auth: signWith(fc, level) }));
    await faultAndClose(c, [PT.FAULT, 3, FIRST | LAST, 1, SEC_PKG_ERROR]);
    expect(h.iface.contexts).toHaveLength(0);
  });

  it('SPNEGO whose NTLMSSP did not negotiate signing, at integrity: alter_context_resp, then 0x721 on the first request', async () => {
    const c = await h.connect();
    const ntlm = ntlmClient(0x62088215 & ~0x10); // rpcclient's flags without NTLMSSP_NEGOTIATE_SIGN
    const challenge = await spnegoBind(c, ntlm, AuthLevel.Integrity);
    c.send(alter({ callId: 2, contexts: ctx1, auth: authSpec(spnegoAuthenticate(ntlm, challenge, true), AuthLevel.Integrity, 1, SPNEGO) }));
    expect((await c.recv()).ptype).toBe(PT.ALTER_RESP);
    c.send(ntlmSigned(ntlm, SPNEGO, 3, Buffer.from('t')));
    await faultAndClose(c, [PT.FAULT, 3, FIRST | LAST, 1, SEC_PKG_ERROR]);
  });

  it('privacy without sealing is still refused at the leg that finishes it (0x721, as Windows)', async () => {
    const { c, fc } = await fakeBind(AuthLevel.Privacy, { user: 'noseal', mode: 'alter' });
    const ack = await c.recv();
    c.send(alter({ callId: 2, contexts: ctx1, auth: authSpec(fc.onServerToken(ack.auth!.value)!, AuthLevel.Privacy) }));
    await faultAndClose(c, [PT.FAULT, 2, FIRST | LAST | DID_NOT_EXECUTE, 0, SEC_PKG_ERROR]);
  });

  it('completed by auth3 (NTLMSSP\'s way), the same: no answer, then 0x721', async () => {
    const { c, fc } = await fakeBind(AuthLevel.Integrity, { user: 'nosign' });
    const ack = await c.recv();
    c.send(auth3({ auth: authSpec(fc.onServerToken(ack.auth!.value)!, AuthLevel.Integrity) }));
    await c.expectSilence(50);
    c.send(request({ callId: 2, contextId: 1, opnum: 0, stub: Buffer.from('u'), auth: signWith(fc, AuthLevel.Integrity) }));
    await faultAndClose(c, [PT.FAULT, 2, FIRST | LAST, 1, SEC_PKG_ERROR]);
  });
});
