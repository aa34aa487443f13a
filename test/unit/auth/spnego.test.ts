/** SPNEGO (auth type 9) wrapping NTLMSSP: token shapes, mechListMIC, fallbacks, refusals. */
import { AuthLevel, AuthRejected, AuthType, IntegrityError, type ConnectionInfo } from '../../../src/rpc/security';
import { createSpnegoProvider, MemoryAccountSource } from '../../../src/auth';
import { SpnegoSecurityContext } from '../../../src/auth/spnego';
import type { NtlmsspOptions } from '../../../src/auth/ntlmssp';
import { NegotiateFlags as F } from '../../../src/auth/ntlmssp-messages';
import {
  NegState, OID, encodeMechTypeList, encodeNegTokenInit, encodeNegTokenResp, parseNegotiationToken, type NegTokenResp,
} from '../../../src/auth/spnego-token';
import { encodeOid, decodeOid, readTlv, DerError } from '../../../src/auth/der';
import { SAMBA_NEGOTIATE_FLAGS, TestNtlmClient } from './ntlm-test-client';

const conn: ConnectionInfo = { localAddress: '127.0.0.1', remoteAddress: '127.0.0.9', remotePort: 1234 };
const opts = (extra: Partial<NtlmsspOptions> = {}): NtlmsspOptions => ({
  accounts: new MemoryAccountSource([{ user: 'alice', password: 'Secret123' }]),
  netbiosComputerName: 'WITNESS1',
  netbiosDomainName: 'TESTDOM',
  ...extra,
});
const resp = (b: Buffer) => parseNegotiationToken(b) as NegTokenResp;

function fakePdu(stub: string) {
  const s = Buffer.from(stub);
  return { pdu: Buffer.concat([Buffer.alloc(24, 7), s, Buffer.alloc(8, 9)]), start: 24, end: 24 + s.length };
}

/** Drive a full Samba-style exchange: optimistic NEGOTIATE, AUTHENTICATE + mechListMIC. */
function sambaStyle(mechs = [OID.NTLMSSP], withMic = true) {
  const ctx = new SpnegoSecurityContext(opts(), conn);
  const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123', flags: SAMBA_NEGOTIATE_FLAGS | F.SEAL, withMic });
  const r1 = ctx.accept(encodeNegTokenInit(mechs, client.negotiate()));
  expect(r1.complete).toBe(false);
  const t1 = resp(r1.token!);
  expect(t1).toMatchObject({ negState: NegState.AcceptIncomplete, supportedMech: OID.NTLMSSP });
  const auth = client.authenticate(t1.responseToken!);
  const mechTypes = encodeMechTypeList(mechs);
  const mic = withMic ? client.send.signPdu(Buffer.from(mechTypes), false) : undefined;
  const r2 = ctx.accept(encodeNegTokenResp({ responseToken: auth, mechListMIC: mic }));
  return { ctx, client, r2, mechTypes };
}

describe('DER', () => {
  it('round-trips OIDs', () => {
    for (const o of Object.values(OID)) {
      const enc = encodeOid(o);
      const t = readTlv(enc, 0);
      expect(decodeOid(enc.subarray(t.contentStart, t.end))).toBe(o);
    }
    expect(encodeOid(OID.NTLMSSP).toString('hex')).toBe('060a2b0601040182370202 0a'.replace(' ', ''));
  });
  it('refuses indefinite and overlong lengths and truncation', () => {
    expect(() => readTlv(Buffer.from([0x30, 0x80, 0, 0]), 0)).toThrow(DerError);
    expect(() => readTlv(Buffer.from([0x30, 0x85, 1, 1, 1, 1, 1]), 0)).toThrow(DerError);
    expect(() => readTlv(Buffer.from([0x30, 0x05, 1]), 0)).toThrow(DerError);
  });
});

describe('SPNEGO acceptor', () => {
  it('provider is auth type 9', () => {
    expect(createSpnegoProvider(opts()).authType).toBe(AuthType.SpNego);
  });

  it('Samba style: optimistic NEGOTIATE, then AUTHENTICATE with mechListMIC; both MICs verify', () => {
    const { ctx, client, r2, mechTypes } = sambaStyle();
    expect(r2.complete).toBe(true);
    const t2 = resp(r2.token!);
    expect(t2.negState).toBe(NegState.AcceptCompleted);
    expect(client.recv.verifyPdu(Buffer.from(mechTypes), t2.mechListMIC!, false)).toBe(true);
    expect(ctx.identity).toEqual({ domain: 'TESTDOM', user: 'alice', anonymous: false });
    // After the MICs: RC4 handles reset (MS-SPNG 3.3.5.1), sequence numbers continue at 1.
    client.send.resetRc4();
    client.recv.resetRc4();
    for (const level of [AuthLevel.Integrity, AuthLevel.Privacy]) {
      const seal = level === AuthLevel.Privacy;
      const q = fakePdu('a request stub....');
      const sig = client.send.signPdu(q.pdu, seal, q.start, q.end);
      expect(sig.readUInt32LE(12)).toBe(level === AuthLevel.Integrity ? 1 : 2);
      ctx.unprotect(q.pdu, q.start, q.end, level, sig);
      expect(q.pdu.subarray(q.start, q.end).toString()).toBe('a request stub....');
      const a = fakePdu('the response');
      const rsig = ctx.protect(a.pdu, a.start, a.end, level);
      expect(client.recv.verifyPdu(a.pdu, rsig, seal, a.start, a.end)).toBe(true);
      expect(a.pdu.subarray(a.start, a.end).toString()).toBe('the response');
    }
  });

  it('without any MIC (old clients) completes with no mechListMIC and full-state keys', () => {
    const { ctx, client, r2 } = sambaStyle([OID.NTLMSSP], false);
    expect(r2.complete).toBe(true);
    expect(resp(r2.token!)).toEqual({ kind: 'resp', negState: NegState.AcceptCompleted, supportedMech: undefined, responseToken: undefined, mechListMIC: undefined });
    const q = fakePdu('x');
    ctx.unprotect(q.pdu, q.start, q.end, AuthLevel.Integrity, client.send.signPdu(q.pdu, false, q.start, q.end));
  });

  it('octets after the first token are ignored (MS-RPCE 2.2.2.11), after a later one refused', () => {
    const ctx = new SpnegoSecurityContext(opts(), conn);
    const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' });
    const first = Buffer.concat([encodeNegTokenInit([OID.NTLMSSP], client.negotiate()), Buffer.alloc(37, 0xfa)]);
    const t1 = resp(ctx.accept(first).token!);
    const second = Buffer.concat([encodeNegTokenResp({ responseToken: client.authenticate(t1.responseToken!) }), Buffer.alloc(1)]);
    expect(() => ctx.accept(second)).toThrow(/trailing bytes/);
    expect(() => parseNegotiationToken(first)).toThrow(DerError);
  });

  it('a bad mechListMIC is refused', () => {
    const ctx = new SpnegoSecurityContext(opts(), conn);
    const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123', withMic: true });
    const t1 = resp(ctx.accept(encodeNegTokenInit([OID.NTLMSSP], client.negotiate())).token!);
    const auth = client.authenticate(t1.responseToken!);
    const mic = client.send.signPdu(encodeMechTypeList([OID.NTLMSSP, OID.KERBEROS]), false); // not what was offered
    expect(() => ctx.accept(encodeNegTokenResp({ responseToken: auth, mechListMIC: mic }))).toThrow(/mechListMIC/);
  });

  it('NTLM MIC present but no mechListMIC: server sends its MIC first and waits for the client\'s', () => {
    const ctx = new SpnegoSecurityContext(opts(), conn);
    const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123', withMic: true });
    const t1 = resp(ctx.accept(encodeNegTokenInit([OID.NTLMSSP], client.negotiate())).token!);
    const r2 = ctx.accept(encodeNegTokenResp({ responseToken: client.authenticate(t1.responseToken!) }));
    expect(r2.complete).toBe(false);
    const mechTypes = encodeMechTypeList([OID.NTLMSSP]);
    const t2 = resp(r2.token!);
    expect(t2.negState).toBe(NegState.AcceptIncomplete);
    expect(client.recv.verifyPdu(Buffer.from(mechTypes), t2.mechListMIC!, false)).toBe(true);
    expect(ctx.identity).toBeUndefined();
    const r3 = ctx.accept(encodeNegTokenResp({ mechListMIC: client.send.signPdu(Buffer.from(mechTypes), false) }));
    expect(r3.complete).toBe(true);
    expect(resp(r3.token!).negState).toBe(NegState.AcceptCompleted);
    expect(ctx.identity?.user).toBe('alice');
  });

  it('NTLM offered second: selects it with request-mic, no optimistic token used, MIC required', () => {
    const ctx = new SpnegoSecurityContext(opts(), conn);
    const mechs = [OID.MS_KERBEROS, OID.NTLMSSP];
    const r1 = ctx.accept(encodeNegTokenInit(mechs, Buffer.from('a kerberos AP-REQ')));
    expect(resp(r1.token!)).toMatchObject({ negState: NegState.RequestMic, supportedMech: OID.NTLMSSP });
    expect(resp(r1.token!).responseToken).toBeUndefined();
    const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' });
    const r2 = ctx.accept(encodeNegTokenResp({ responseToken: client.negotiate() }));
    const auth = client.authenticate(resp(r2.token!).responseToken!);
    const mechTypes = encodeMechTypeList(mechs);
    // Without the MIC the downgrade is not protected: the server insists.
    const r3 = ctx.accept(encodeNegTokenResp({ responseToken: auth, mechListMIC: client.send.signPdu(Buffer.from(mechTypes), false) }));
    expect(r3.complete).toBe(true);
    expect(client.recv.verifyPdu(Buffer.from(mechTypes), resp(r3.token!).mechListMIC!, false)).toBe(true);
  });

  it('Kerberos only: refused with bind_nak reason 8', () => {
    const ctx = new SpnegoSecurityContext(opts(), conn);
    let err: unknown;
    try { ctx.accept(encodeNegTokenInit([OID.KERBEROS, OID.MS_KERBEROS], Buffer.from('krb'))); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(AuthRejected);
    expect((err as AuthRejected).bindNakReason).toBe(8);
  });

  it('raw NTLMSSP under auth type 9 is followed', () => {
    const ctx = new SpnegoSecurityContext(opts(), conn);
    const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' });
    const r1 = ctx.accept(client.negotiate());
    expect(r1.token!.subarray(0, 7).toString()).toBe('NTLMSSP');
    expect(ctx.accept(client.authenticate(r1.token!)).complete).toBe(true);
    expect(ctx.identity?.user).toBe('alice');
  });

  it('wrong password inside SPNEGO is refused with reason 9', () => {
    const ctx = new SpnegoSecurityContext(opts(), conn);
    const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'nope' });
    const t1 = resp(ctx.accept(encodeNegTokenInit([OID.NTLMSSP], client.negotiate())).token!);
    let err: unknown;
    try { ctx.accept(encodeNegTokenResp({ responseToken: client.authenticate(t1.responseToken!) })); } catch (e) { err = e; }
    expect((err as AuthRejected).bindNakReason).toBe(9);
    expect(() => ctx.protect(Buffer.alloc(40), 16, 24, AuthLevel.Integrity)).toThrow();
  });

  it('protect/unprotect before completion refuse', () => {
    const ctx = new SpnegoSecurityContext(opts(), conn);
    expect(() => ctx.unprotect(Buffer.alloc(40), 16, 24, AuthLevel.Integrity, Buffer.alloc(16))).toThrow();
  });

  it('tampered and replayed PDUs after SPNEGO raise IntegrityError', () => {
    const { ctx, client } = sambaStyle();
    client.send.resetRc4();
    const q = fakePdu('request');
    const sig = client.send.signPdu(q.pdu, false, q.start, q.end);
    const replay = Buffer.from(q.pdu);
    ctx.unprotect(q.pdu, q.start, q.end, AuthLevel.Integrity, sig);
    expect(() => ctx.unprotect(replay, q.start, q.end, AuthLevel.Integrity, sig)).toThrow(IntegrityError);
  });

  it('malformed and truncated tokens are AuthRejected, never anything else', () => {
    const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' });
    const init = encodeNegTokenInit([OID.NTLMSSP], client.negotiate());
    for (let n = 0; n < init.length; n++) {
      const ctx = new SpnegoSecurityContext(opts(), conn);
      expect(() => ctx.accept(init.subarray(0, n))).toThrow(AuthRejected);
    }
    let seed = 99;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let i = 0; i < 500; i++) {
      const ctx = new SpnegoSecurityContext(opts(), conn);
      const junk = Buffer.from(init);
      for (let k = 0; k < 3; k++) junk[rnd() % junk.length] = rnd();
      try { ctx.accept(junk); } catch (e) { expect(e).toBeInstanceOf(AuthRejected); }
    }
  });
});
