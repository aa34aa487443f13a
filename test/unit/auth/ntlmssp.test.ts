/** The NTLMSSP acceptor behind the SecurityContext seam: legs, keys, protection, refusals. */
import { AuthLevel, AuthRejected, AuthType, IntegrityError, type ConnectionInfo } from '../../../src/rpc/security';
import { createNtlmsspProvider, MemoryAccountSource, ntHash, type AuthLogger } from '../../../src/auth';
import { NtlmsspSecurityContext } from '../../../src/auth/ntlmssp-context';
import type { NtlmsspOptions } from '../../../src/auth/ntlmssp';
import { AvId, NegotiateFlags as F, parseAvPairs } from '../../../src/auth/ntlmssp-messages';
import { NtlmV1Channel } from '../../../src/auth/ntlm-crypto';
import { IMPACKET_NEGOTIATE_FLAGS, SAMBA_NEGOTIATE_FLAGS, TestNtlmClient } from './ntlm-test-client';

const conn: ConnectionInfo = { localAddress: '127.0.0.1', remoteAddress: '192.0.2.7', remotePort: 49999 };
const H = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

class RecordingLogger implements AuthLogger {
  lines: { level: string; obj: object; msg: string }[] = [];
  info(obj: object, msg: string) { this.lines.push({ level: 'info', obj, msg }); }
  warn(obj: object, msg: string) { this.lines.push({ level: 'warn', obj, msg }); }
  debug(obj: object, msg: string) { this.lines.push({ level: 'debug', obj, msg }); }
  text(): string { return JSON.stringify(this.lines); }
}

function options(extra: Partial<NtlmsspOptions> = {}): NtlmsspOptions {
  return {
    accounts: new MemoryAccountSource([
      { user: 'alice', password: 'Secret123' },
      { user: 'User', domain: 'Domain', password: 'Password' },
    ]),
    netbiosComputerName: 'WITNESS1',
    netbiosDomainName: 'TESTDOM',
    ...extra,
  };
}

/** A PDU-like buffer: 16-byte header, stub, 8-byte sec_trailer. */
function fakePdu(stub: Buffer): { pdu: Buffer; start: number; end: number } {
  const pdu = Buffer.concat([Buffer.from('0500000310000000', 'hex'), Buffer.alloc(8, 0x11), stub, Buffer.from('0a05000001000000', 'hex')]);
  return { pdu, start: 16, end: 16 + stub.length };
}

function establish(clientOpts: ConstructorParameters<typeof TestNtlmClient>[0], opts = options()) {
  const ctx = new NtlmsspSecurityContext(opts, conn);
  const client = new TestNtlmClient(clientOpts);
  const r1 = ctx.accept(client.negotiate());
  expect(r1.complete).toBe(false);
  const r2 = ctx.accept(client.authenticate(r1.token!));
  expect(r2).toEqual({ complete: true });
  return { ctx, client };
}

describe('NTLMSSP acceptor', () => {
  it('provider has auth type 10 and a 16-byte verifier', () => {
    const p = createNtlmsspProvider(options());
    expect(p.authType).toBe(AuthType.Ntlmssp);
    expect(p.newContext(conn).signatureLength).toBe(16);
  });

  it('answers NEGOTIATE with a CHALLENGE carrying names, timestamp and the client\'s flags', () => {
    const now = new Date('2026-11-22T00:00:00Z');
    const ctx = new NtlmsspSecurityContext(options({ now: () => now, randomBytes: () => H('0123456789abcdef'),
      dnsDomainName: 'test.example', dnsComputerName: 'witness1.test.example' }), conn);
    const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123', flags: SAMBA_NEGOTIATE_FLAGS });
    const { token } = ctx.accept(client.negotiate());
    expect(token!.subarray(0, 8).toString('latin1')).toBe('NTLMSSP\0');
    expect(token!.readUInt32LE(8)).toBe(2);
    const flags = token!.readUInt32LE(20);
    for (const f of [F.UNICODE, F.SIGN, F.NTLM, F.ALWAYS_SIGN, F.EXTENDED_SESSIONSECURITY, F.TARGET_INFO, F.NEGOTIATE_128, F.KEY_EXCH, F.VERSION, F.TARGET_TYPE_SERVER]) {
      expect(flags & f).toBe(f);
    }
    expect(flags & F.SEAL).toBe(0); // not requested by 0x62088215
    expect(flags & F.LM_KEY).toBe(0);
    expect(token!.subarray(24, 32).toString('hex')).toBe('0123456789abcdef');
    const ti = parseAvPairs(token!.subarray(token!.readUInt32LE(44), token!.readUInt32LE(44) + token!.readUInt16LE(40)));
    const get = (id: number) => ti.find((p) => p.id === id)?.value;
    expect(get(AvId.NbDomainName)!.toString('utf16le')).toBe('TESTDOM');
    expect(get(AvId.NbComputerName)!.toString('utf16le')).toBe('WITNESS1');
    expect(get(AvId.DnsDomainName)!.toString('utf16le')).toBe('test.example');
    expect(get(AvId.DnsComputerName)!.toString('utf16le')).toBe('witness1.test.example');
    expect(get(AvId.Timestamp)!.readBigUInt64LE()).toBe(BigInt(now.getTime()) * 10000n + 116444736000000000n);
  });

  it('accepts the MS-NLMP 4.2.4.3 AUTHENTICATE message and derives the spec keys', () => {
    // NEGOTIATE with the 4.2.4 flags, then the spec's AUTHENTICATE byte for byte.
    const ctx = new NtlmsspSecurityContext(options({ randomBytes: () => H('0123456789abcdef') }), conn);
    const neg = Buffer.alloc(32);
    neg.write('NTLMSSP\0', 'latin1');
    neg.writeUInt32LE(1, 8);
    neg.writeUInt32LE(0xe28a8235, 12);
    ctx.accept(neg);
    const auth = H(
      '4e544c4d5353500003000000180018006c00000054005400840000000c000c00480000000800080054000000' +
      '100010005c00000010001000d8000000358288e20501280a0000000f44006f006d00610069006e00550073006500' +
      '720043004f004d005000550054004500520086c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa68cd0ab8' +
      '51e51c96aabc927bebef6a1c01010000000000000000000000000000aaaaaaaaaaaaaaaa0000000002000c004400' +
      '6f006d00610069006e0001000c005300650072007600650072000000000000000000c5dad2544fc9799094ce1ce9' +
      '0bc9d03e');
    expect(auth.length).toBe(232);
    expect(ctx.accept(auth)).toEqual({ complete: true });
    expect(ctx.identity).toEqual({ domain: 'Domain', user: 'User', anonymous: false });
    // The client's sealed "Plaintext" of 4.2.4.4 (seqnum 0) must open with our receive keys.
    const msg = H('54e50165bf1936dc996020c1811b0f06fb5f');
    expect(ctx.ntlmssp.verifyPdu(msg, H('010000007fb38ec5c55d497600000000'), true, 0, msg.length)).toBe(true);
    expect(msg.toString('utf16le')).toBe('Plaintext');
  });

  it.each([
    ['Samba flags, integrity', SAMBA_NEGOTIATE_FLAGS, AuthLevel.Integrity],
    ['impacket flags, privacy', IMPACKET_NEGOTIATE_FLAGS, AuthLevel.Privacy],
    ['Samba flags with MIC, privacy', SAMBA_NEGOTIATE_FLAGS | F.SEAL, AuthLevel.Privacy],
    ['no key exchange, privacy', (SAMBA_NEGOTIATE_FLAGS | F.SEAL) & ~F.KEY_EXCH, AuthLevel.Privacy],
    ['56-bit sealing key', (SAMBA_NEGOTIATE_FLAGS | F.SEAL | F.NEGOTIATE_56) & ~F.NEGOTIATE_128, AuthLevel.Privacy],
    ['40-bit sealing key', (SAMBA_NEGOTIATE_FLAGS | F.SEAL) & ~F.NEGOTIATE_128 & ~F.NEGOTIATE_56, AuthLevel.Privacy],
    ['packet level signs', SAMBA_NEGOTIATE_FLAGS, AuthLevel.Packet],
  ])('round-trips protected PDUs both ways (%s)', (_name, flags, level) => {
    const { ctx, client } = establish({ user: 'ALICE', domain: 'whatever', password: 'Secret123', flags, withMic: true });
    expect(ctx.identity).toEqual({ domain: 'TESTDOM', user: 'alice', anonymous: false });
    const seal = level === AuthLevel.Privacy;
    for (let i = 0; i < 3; i++) {
      // client -> server
      const stub = Buffer.from(`request ${i} payload..`, 'latin1');
      const { pdu, start, end } = fakePdu(Buffer.from(stub));
      const sig = client.send.signPdu(pdu, seal, start, end);
      expect(pdu.subarray(start, end).equals(stub)).toBe(!seal);
      ctx.unprotect(pdu, start, end, level, sig);
      expect(pdu.subarray(start, end).equals(stub)).toBe(true);
      // server -> client
      const out = fakePdu(Buffer.from(`response ${i}`, 'latin1'));
      const plain = Buffer.from(out.pdu);
      const rsig = ctx.protect(out.pdu, out.start, out.end, level);
      expect(rsig.length).toBe(16);
      expect(client.recv.verifyPdu(out.pdu, rsig, seal, out.start, out.end)).toBe(true);
      expect(out.pdu.equals(plain)).toBe(true);
    }
  });

  it('rejects a flipped bit anywhere in a signed PDU, header included', () => {
    for (const pos of [0, 3, 20, 30]) {
      const { ctx, client } = establish({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' });
      const { pdu, start, end } = fakePdu(Buffer.from('some stub bytes!'));
      const sig = client.send.signPdu(pdu, false, start, end);
      pdu[pos] ^= 0x01;
      expect(() => ctx.unprotect(pdu, start, end, AuthLevel.Integrity, sig)).toThrow(IntegrityError);
    }
  });

  it('rejects a flipped bit in a sealed PDU and in the signature', () => {
    const { ctx, client } = establish({ user: 'alice', domain: 'TESTDOM', password: 'Secret123', flags: SAMBA_NEGOTIATE_FLAGS | F.SEAL });
    const { pdu, start, end } = fakePdu(Buffer.from('some stub bytes!'));
    const sig = client.send.signPdu(pdu, true, start, end);
    sig[5] ^= 0x80;
    expect(() => ctx.unprotect(pdu, start, end, AuthLevel.Privacy, sig)).toThrow(IntegrityError);
  });

  it('rejects a replayed PDU', () => {
    const { ctx, client } = establish({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' });
    const { pdu, start, end } = fakePdu(Buffer.from('first request'));
    const sig = client.send.signPdu(pdu, false, start, end);
    const replay = Buffer.from(pdu);
    ctx.unprotect(pdu, start, end, AuthLevel.Integrity, sig);
    expect(() => ctx.unprotect(replay, start, end, AuthLevel.Integrity, sig)).toThrow(IntegrityError);
  });

  it('rejects a verifier of the wrong size', () => {
    const { ctx } = establish({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' });
    const { pdu, start, end } = fakePdu(Buffer.from('x'));
    expect(() => ctx.unprotect(pdu, start, end, AuthLevel.Integrity, Buffer.alloc(8))).toThrow(IntegrityError);
  });

  it('refuses a wrong password with reason 9 and logs user and client address, never the hash', () => {
    const log = new RecordingLogger();
    const ctx = new NtlmsspSecurityContext(options({ logger: log }), conn);
    const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'wrong' });
    const { token } = ctx.accept(client.negotiate());
    let err: unknown;
    try { ctx.accept(client.authenticate(token!)); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(AuthRejected);
    expect((err as AuthRejected).bindNakReason).toBe(9);
    expect(ctx.identity).toBeUndefined();
    const warn = log.lines.find((l) => l.level === 'warn')!;
    expect(warn.obj).toMatchObject({ user: 'alice', domain: 'TESTDOM', client: '192.0.2.7:49999', reason: 'wrong password' });
    const text = log.text();
    expect(text).not.toContain(ntHash('Secret123').toString('hex')); // no hash
    expect(text).not.toContain('Secret123'); // no password
    expect(text).not.toContain(client.authenticateMsg.toString('hex').slice(0, 40));
    expect(() => ctx.protect(Buffer.alloc(40), 16, 24, AuthLevel.Integrity)).toThrow();
  });

  it('refuses an unknown user', () => {
    const log = new RecordingLogger();
    const ctx = new NtlmsspSecurityContext(options({ logger: log }), conn);
    const client = new TestNtlmClient({ user: 'mallory', domain: 'TESTDOM', password: 'x' });
    const { token } = ctx.accept(client.negotiate());
    expect(() => ctx.accept(client.authenticate(token!))).toThrow(AuthRejected);
    expect(log.lines.some((l) => (l.obj as { reason?: string }).reason === 'unknown user')).toBe(true);
  });

  it('anonymous AUTHENTICATE: refused by default, accepted when allowed', () => {
    const refused = new NtlmsspSecurityContext(options(), conn);
    const c1 = new TestNtlmClient({ user: '', domain: '', anonymous: true });
    expect(() => refused.accept(c1.authenticate(refused.accept(c1.negotiate()).token!))).toThrow(AuthRejected);

    const ok = new NtlmsspSecurityContext(options({ allowAnonymous: true }), conn);
    const c2 = new TestNtlmClient({ user: '', domain: '', anonymous: true });
    expect(ok.accept(c2.authenticate(ok.accept(c2.negotiate()).token!))).toEqual({ complete: true });
    expect(ok.identity).toEqual({ domain: '', user: '', anonymous: true });
  });

  it('anonymous without extended session security (rpcclient -U% [sign]): MS-NLMP 3.4.4.1 signing, sealing as negotiated', () => {
    const ctx = new NtlmsspSecurityContext(options({ allowAnonymous: true }), conn);
    const client = new TestNtlmClient({ user: '', domain: '', anonymous: true, flags: SAMBA_NEGOTIATE_FLAGS & ~F.SEAL });
    const challenge = ctx.accept(client.negotiate()).token!;
    const auth = client.authenticate(challenge);
    auth.writeUInt32LE(auth.readUInt32LE(60) & ~F.EXTENDED_SESSIONSECURITY, 60); // a client without a password cannot do NTLM2
    expect(ctx.accept(auth)).toEqual({ complete: true });
    expect([ctx.supportsLevel(AuthLevel.Integrity), ctx.supportsLevel(AuthLevel.Packet), ctx.supportsLevel(AuthLevel.Privacy)]).toEqual([true, true, false]);
    const peer = new NtlmV1Channel(client.exportedSessionKey);
    const { pdu, start, end } = fakePdu(Buffer.from('anonymous call'));
    const sig = peer.signPdu(pdu, false, start, end);
    ctx.unprotect(pdu, start, end, AuthLevel.Integrity, sig);
    const back = fakePdu(Buffer.from('answer'));
    expect(peer.verifyPdu(back.pdu, ctx.protect(back.pdu, back.start, back.end, AuthLevel.Integrity), false, back.start, back.end)).toBe(true);
    const again = fakePdu(Buffer.from('anonymous call'));
    expect(() => ctx.unprotect(again.pdu, again.start, again.end, AuthLevel.Integrity, sig)).toThrow(IntegrityError); // replayed
  });

  it('supportsLevel: integrity needs NTLMSSP_NEGOTIATE_SIGN, privacy also SEAL', () => {
    const signOnly = establish({ user: 'alice', domain: 'TESTDOM', password: 'Secret123', flags: SAMBA_NEGOTIATE_FLAGS & ~F.SEAL }).ctx;
    expect([signOnly.supportsLevel(AuthLevel.Integrity), signOnly.supportsLevel(AuthLevel.Privacy)]).toEqual([true, false]);
    const neither = establish({ user: 'alice', domain: 'TESTDOM', password: 'Secret123', flags: SAMBA_NEGOTIATE_FLAGS & ~(F.SEAL | F.SIGN) }).ctx;
    expect(neither.supportsLevel(AuthLevel.Packet)).toBe(false);
    const both = establish({ user: 'alice', domain: 'TESTDOM', password: 'Secret123', flags: IMPACKET_NEGOTIATE_FLAGS }).ctx;
    expect(both.supportsLevel(AuthLevel.Privacy)).toBe(true);
  });

  it('refuses NTLMv1 by default and an LM-only response always', () => {
    const ctx = new NtlmsspSecurityContext(options({ randomBytes: () => H('0123456789abcdef') }), conn);
    const client = new TestNtlmClient({ user: 'User', domain: 'Domain', password: 'Password' });
    ctx.accept(client.negotiate());
    const v1 = buildAuth('User', 'Domain', H('aaaaaaaaaaaaaaaa00000000000000000000000000000000'), H('7537f803ae367128ca458204bde7caf81e97ed2683267232'), 0x820a8233);
    expect(() => ctx.accept(v1)).toThrow(/NTLMv1/);

    const allowed = new NtlmsspSecurityContext(options({ allowNtlmV1: true, randomBytes: () => H('0123456789abcdef') }), conn);
    allowed.accept(client.negotiate());
    expect(allowed.accept(v1)).toEqual({ complete: true });
    expect(allowed.identity?.user).toBe('User');

    const lmOnly = new NtlmsspSecurityContext(options({ allowNtlmV1: true }), conn);
    lmOnly.accept(client.negotiate());
    expect(() => lmOnly.accept(buildAuth('User', 'Domain', Buffer.alloc(24, 1), Buffer.alloc(0), 0x820a8233))).toThrow(/LM/);
  });

  it('refuses a client without extended session security when signing is asked', () => {
    const ctx = new NtlmsspSecurityContext(options(), conn);
    const client = new TestNtlmClient({ user: 'alice', domain: '', password: 'Secret123', flags: SAMBA_NEGOTIATE_FLAGS & ~F.EXTENDED_SESSIONSECURITY });
    expect(() => ctx.accept(client.negotiate())).toThrow(/extended session security/);
  });

  it('refuses a tampered MIC', () => {
    const ctx = new NtlmsspSecurityContext(options(), conn);
    const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123', withMic: true });
    const auth = client.authenticate(ctx.accept(client.negotiate()).token!);
    auth[80] ^= 1;
    expect(() => ctx.accept(auth)).toThrow(/MIC/);
  });

  describe('hostile tokens', () => {
    it('AUTHENTICATE before NEGOTIATE (an auth3 with no bind)', () => {
      const ctx = new NtlmsspSecurityContext(options(), conn);
      const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' });
      const other = new NtlmsspSecurityContext(options(), conn);
      const auth = client.authenticate(other.accept(client.negotiate()).token!);
      expect(() => ctx.accept(auth)).toThrow(AuthRejected);
    });
    it('a token after completion', () => {
      const { ctx, client } = establish({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' });
      expect(() => ctx.accept(client.authenticateMsg)).toThrow(AuthRejected);
    });
    it('every truncation of NEGOTIATE and AUTHENTICATE is a clean refusal', () => {
      const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123', withMic: true });
      const neg = client.negotiate();
      for (let n = 0; n < neg.length; n++) {
        const ctx = new NtlmsspSecurityContext(options(), conn);
        try { ctx.accept(neg.subarray(0, n)); } catch (e) { expect(e).toBeInstanceOf(AuthRejected); }
      }
      const base = new NtlmsspSecurityContext(options(), conn);
      const auth = client.authenticate(base.accept(neg).token!);
      for (let n = 0; n < auth.length; n += 3) {
        const ctx = new NtlmsspSecurityContext(options(), conn);
        ctx.accept(neg);
        expect(() => ctx.accept(auth.subarray(0, n))).toThrow(AuthRejected);
      }
    });
    it('a message over 2,888 bytes is refused, NEGOTIATE or AUTHENTICATE (Windows\' NTLM SSP); 2,888 is read', () => {
      const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' });
      const padTo = (b: Buffer, n: number) => Buffer.concat([b, Buffer.alloc(n - b.length)]);
      expect(() => new NtlmsspSecurityContext(options(), conn).accept(padTo(client.negotiate(), 2889))).toThrow(/2889 bytes/);
      const ctx = new NtlmsspSecurityContext(options(), conn);
      const auth = client.authenticate(ctx.accept(padTo(client.negotiate(), 2888)).token!);
      const again = new NtlmsspSecurityContext(options(), conn);
      again.accept(client.negotiate());
      expect(() => again.accept(padTo(auth, 2889))).toThrow(AuthRejected);
      expect(ctx.accept(padTo(auth, 2888)).complete).toBe(true);
    });
    it('field offsets pointing outside the message', () => {
      const ctx = new NtlmsspSecurityContext(options(), conn);
      const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' });
      const auth = client.authenticate(ctx.accept(client.negotiate()).token!);
      auth.writeUInt32LE(0xfffffff0, 24); // NtChallengeResponse offset
      expect(() => ctx.accept(auth)).toThrow(/outside the message/);
    });
    it('random garbage never escapes as anything but AuthRejected', () => {
      let seed = 12345;
      const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
      for (let i = 0; i < 300; i++) {
        const ctx = new NtlmsspSecurityContext(options(), conn);
        const client = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' });
        const neg = client.negotiate();
        const auth = client.authenticate(new NtlmsspSecurityContext(options(), conn).accept(neg).token!);
        ctx.accept(neg);
        const junk = Buffer.from(auth);
        for (let k = 0; k < 4; k++) junk[12 + (rnd() % 60)] = rnd();
        try { ctx.accept(junk); } catch (e) { expect(e).toBeInstanceOf(AuthRejected); }
      }
    });
  });
});

/** A raw AUTHENTICATE (no VERSION/MIC) with the given responses. */
function buildAuth(user: string, domain: string, lm: Buffer, nt: Buffer, flags: number): Buffer {
  const u = (s: string) => Buffer.from(s, 'utf16le');
  const fields = [lm, nt, u(domain), u(user), u('WS'), Buffer.alloc(0)];
  const header = 64;
  const msg = Buffer.alloc(header + fields.reduce((n, f) => n + f.length, 0));
  msg.write('NTLMSSP\0', 'latin1');
  msg.writeUInt32LE(3, 8);
  let off = header;
  fields.forEach((f, i) => {
    msg.writeUInt16LE(f.length, 12 + i * 8);
    msg.writeUInt16LE(f.length, 14 + i * 8);
    msg.writeUInt32LE(off, 16 + i * 8);
    f.copy(msg, off);
    off += f.length;
  });
  msg.writeUInt32LE(flags >>> 0, 60);
  return msg;
}
