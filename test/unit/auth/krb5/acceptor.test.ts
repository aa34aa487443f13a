/**
 * The acceptor's checks with tickets minted by a test KDC: key choice over the account's SPNs,
 * wrong key or kvno, expiry, skew, replay, tampering (ticket, authenticator, PAC, verifiers),
 * GSS flags, the allow-list, hostile ASN.1, RC4 tickets, keytab rollover, checkKerberosConfig.
 */
import { writeFileSync } from 'node:fs';
import { checkKerberosConfig, createKerberosProvider, type KerberosOptions } from '../../../../src/auth/krb5';
import { CfxContext } from '../../../../src/auth/krb5/cfx';
import { EncType, enctype } from '../../../../src/auth/krb5/enctypes';
import { GssFlag } from '../../../../src/auth/krb5/gss-checksum';
import { encodeKeytab } from '../../../../src/auth/krb5/keytab';
import { AdType, decodeApReq, decodeEncTicketPart, encodeAuthorizationData, findAuthorizationData } from '../../../../src/auth/krb5/messages';
import { KeyUsage } from '../../../../src/auth/krb5/rfc3961';
import { AuthLevel, AuthRejected, IntegrityError, type SecurityContext } from '../../../../src/rpc/security';
import { flows, secTrailer, serviceKey, writeKeytab } from './lab-helpers';
import { SEAL_FLAGS, mintApReq, type MintOptions } from './test-initiator';

const NOW = Date.UTC(2026, 11, 4, 12, 0, 0);
const conn = { localAddress: '127.0.0.42', remoteAddress: '127.0.0.77', remotePort: 40000 };
const SPNS = [['host', 'sofs.example.test'], ['cifs', 'sofs.example.test'], ['host', 'SOFS'], ['cifs', 'SOFS']];
const rc4Key = Buffer.alloc(16, 0x23);
const sha2Key = Buffer.alloc(32, 0x20);

function keytab(key = serviceKey, kvno = 2): Buffer {
  return encodeKeytab(SPNS.flatMap((components) => [
    { realm: 'EXAMPLE.TEST', components, timestamp: 0, kvno, enctype: EncType.AES256_CTS_HMAC_SHA1_96, key },
    { realm: 'EXAMPLE.TEST', components, timestamp: 0, kvno, enctype: EncType.RC4_HMAC, key: rc4Key },
    { realm: 'EXAMPLE.TEST', components, timestamp: 0, kvno, enctype: EncType.AES256_CTS_HMAC_SHA384_192, key: sha2Key },
  ]));
}

/** The lab ticket's PAC: its server signature is keyed with the lab service key, which our keytab reuses. */
const labPac = (() => {
  const f = flows()[0];
  const req = decodeApReq(secTrailer(f.pdus[0].pdu).authValue);
  const t = decodeEncTicketPart(enctype(18).decrypt(serviceKey, KeyUsage.TICKET, req.ticket.encPart.cipher));
  return findAuthorizationData(t.authorizationData, AdType.WIN2K_PAC)[0];
})();

function setup(extra: Partial<KerberosOptions> = {}, file = writeKeytab(keytab())) {
  const logs: { obj: Record<string, unknown>; msg: string }[] = [];
  let now = NOW;
  const logger = { info: () => {}, debug: () => {}, warn: (obj: object, msg: string) => logs.push({ obj: obj as Record<string, unknown>, msg }) };
  const provider = createKerberosProvider({ keytab: file, now: () => now, logger, ...extra });
  return { provider, logs, file, setNow: (t: number) => { now = t; } };
}

function mint(o: Partial<MintOptions> = {}) {
  return mintApReq({ serviceKey, now: NOW, pac: labPac, ...o });
}

function establish(ctx: SecurityContext, m: ReturnType<typeof mint>) {
  const r1 = ctx.accept(m.apReq);
  const { reply, apRep } = m.finish(r1.token!);
  expect(ctx.accept(apRep)).toEqual({ complete: true });
  return reply;
}

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AuthRejected);
    expect((e as AuthRejected).bindNakReason).toBe(9);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('Kerberos acceptor', () => {
  it.each(SPNS.map((s) => [s.join('/')]))('accepts a ticket for %s, with the PAC\'s identity', (spn) => {
    const { provider } = setup();
    const ctx = provider.newContext(conn, { authLevel: AuthLevel.Privacy, headerSigning: true });
    establish(ctx, mint({ sname: spn.split('/') }));
    expect(ctx.identity).toMatchObject({ domain: 'EXAMPLE', user: 'alice', principal: 'alice@EXAMPLE.TEST', anonymous: false });
    expect(provider.principals).toContain('cifs/sofs.example.test@EXAMPLE.TEST');
  });

  it('chooses the key by enctype and kvno, so an SPN mapped by AD (http/) works too', () => {
    const ctx = setup().provider.newContext(conn, { authLevel: AuthLevel.Integrity, headerSigning: true });
    establish(ctx, mint({ sname: ['http', 'sofs.example.test'] }));
    expect(ctx.identity?.user).toBe('alice');
  });

  it('integrity and privacy verifiers round-trip with the client; tampering and replay are IntegrityError', () => {
    for (const level of [AuthLevel.Integrity, AuthLevel.Privacy]) {
      for (const headerSigning of [true, false]) {
        const ctx = setup().provider.newContext(conn, { authLevel: level, headerSigning });
        const m = mint();
        const reply = establish(ctx, m);
        const client = new CfxContext({ key: reply.subkey!.keyvalue, enctype: reply.subkey!.keytype, initiatorSeq: m.seq, acceptorSeq: reply.seqNumber!, headerSigning, role: 'initiator' });
        const pdu = Buffer.concat([Buffer.alloc(24, 1), Buffer.from('sixteen byte stub'.padEnd(32, '.')), Buffer.alloc(8, 2)]);
        const sealed = level === AuthLevel.Privacy;
        for (let i = 0; i < 3; i++) {
          const req = Buffer.from(pdu);
          const sig = sealed ? client.sealPdu(req, 24, 56) : client.signPdu(req, 24, 56);
          const replayCopy = Buffer.from(req);
          ctx.unprotect(req, 24, 56, level, sig);
          expect(req.equals(pdu)).toBe(true);
          expect(() => ctx.unprotect(Buffer.from(replayCopy), 24, 56, level, sig)).toThrow(IntegrityError); // replayed
          const resp = Buffer.from(pdu);
          const rsig = ctx.protect(resp, 24, 56, level);
          expect(rsig.length).toBe(ctx.signatureLength);
          if (sealed) client.unsealPdu(resp, 24, 56, rsig); else client.verifyPdu(resp, 24, 56, rsig);
          expect(resp.equals(pdu)).toBe(true);
        }
        const req = Buffer.from(pdu);
        const sig = sealed ? client.sealPdu(req, 24, 56) : client.signPdu(req, 24, 56);
        const bad = Buffer.from(req);
        bad[headerSigning ? 3 : 30] ^= 1;
        expect(() => ctx.unprotect(bad, 24, 56, level, sig)).toThrow(IntegrityError);
        const badSig = Buffer.from(sig);
        badSig[badSig.length - 1] ^= 1;
        expect(() => ctx.unprotect(Buffer.from(req), 24, 56, level, badSig)).toThrow(IntegrityError);
        // The reflected server token (SentByAcceptor) is refused.
        expect(() => ctx.unprotect(Buffer.from(pdu), 24, 56, level, ctx.protect(Buffer.from(pdu), 24, 56, level))).toThrow(/reflected/);
      }
    }
  });

  it('refuses a ticket under another key with a log line naming the client and the service, and a short reason for the metric', () => {
    const reasons: string[] = [];
    const { provider, logs } = setup({ onRefused: (r) => reasons.push(r) }, writeKeytab(keytab(Buffer.alloc(32, 9))));
    const msg = refusal(() => provider.newContext(conn).accept(mint().apReq));
    expect(msg).toMatch(/does not decrypt with the keytab's key.*wrong keytab/);
    expect(logs[0]).toMatchObject({ msg: 'Kerberos authentication refused', obj: { client: '127.0.0.77:40000' } });
    refusal(() => provider.newContext(conn).accept(Buffer.from([0x6e, 0x05, 0x30])));
    expect(reasons).toEqual(['kerberos: refused', 'kerberos: malformed token']);
  });

  it('refuses an unknown kvno or enctype', () => {
    const { provider } = setup();
    expect(refusal(() => provider.newContext(conn).accept(mint({ kvno: 7 }).apReq))).toMatch(/no key for ticket to host\/sofs.example.test@EXAMPLE.TEST.*kvno 7/);
    const aes128 = mintApReq({ serviceKey: Buffer.alloc(16, 1), serviceEnctype: EncType.AES128_CTS_HMAC_SHA1_96, now: NOW });
    expect(refusal(() => provider.newContext(conn).accept(aes128.apReq))).toMatch(/no key/);
  });

  it('refuses an expired ticket and a skewed authenticator; the skew is configurable', () => {
    const { provider } = setup();
    expect(refusal(() => provider.newContext(conn).accept(mint({ endtime: NOW - 301000 }).apReq))).toMatch(/expired/);
    expect(refusal(() => provider.newContext(conn).accept(mint({ ctime: NOW - 301000 }).apReq))).toMatch(/clock skew/);
    expect(refusal(() => provider.newContext(conn).accept(mint({ ctime: NOW + 301000 }).apReq))).toMatch(/clock skew/);
    expect(provider.newContext(conn).accept(mint({ ctime: NOW - 299000 }).apReq).complete).toBe(false);
    const strict = setup({ clockSkewSeconds: 10 }).provider;
    expect(refusal(() => strict.newContext(conn).accept(mint({ ctime: NOW - 11000 }).apReq))).toMatch(/clock skew/);
  });

  it('refuses a replayed authenticator, also on another connection', () => {
    const { provider } = setup();
    const m = mint();
    provider.newContext(conn).accept(m.apReq);
    expect(refusal(() => provider.newContext({ ...conn, remotePort: 40001 }).accept(m.apReq))).toMatch(/replayed/);
    // Another authenticator (other cusec) with the same ticket is fine.
    expect(provider.newContext(conn).accept(mint({ cusec: 1 }).apReq).complete).toBe(false);
  });

  it('refuses a tampered ticket, authenticator or PAC', () => {
    const { provider } = setup();
    const m = mint();
    const tTicket = Buffer.from(m.apReq);
    tTicket[200] ^= 1; // inside the ticket's ciphertext
    expect(refusal(() => provider.newContext(conn).accept(tTicket))).toMatch(/does not decrypt|malformed/);
    const tAuth = Buffer.from(mint({ cusec: 2 }).apReq);
    tAuth[tAuth.length - 5] ^= 1; // inside the authenticator's ciphertext
    expect(refusal(() => provider.newContext(conn).accept(tAuth))).toMatch(/integrity check failed|malformed/);
    const pac = Buffer.from(labPac);
    pac[200] ^= 1; // inside the logon info
    expect(refusal(() => provider.newContext(conn).accept(mint({ pac, cusec: 3 }).apReq))).toMatch(/PAC server signature does not verify/);
  });

  it('refuses a valid PAC issued for another client (PAC_CLIENT_INFO names alice, the ticket bob)', () => {
    expect(refusal(() => setup().provider.newContext(conn).accept(mint({ cname: 'bob' }).apReq))).toMatch(/PAC issued for alice, ticket for bob/);
  });

  it('requires DCE_STYLE, and the CONF flag at privacy', () => {
    const { provider } = setup();
    expect(refusal(() => provider.newContext(conn).accept(mint({ flags: SEAL_FLAGS & ~GssFlag.DCE_STYLE }).apReq))).toMatch(/DCE_STYLE/);
    const signOnly = SEAL_FLAGS & ~GssFlag.CONF;
    expect(refusal(() => provider.newContext(conn, { authLevel: AuthLevel.Privacy, headerSigning: true }).accept(mint({ flags: signOnly, cusec: 5 }).apReq))).toMatch(/CONF/);
    expect(provider.newContext(conn, { authLevel: AuthLevel.Integrity, headerSigning: true }).accept(mint({ flags: signOnly, cusec: 6 }).apReq).complete).toBe(false);
  });

  it('the allow-list admits principals and PAC group SIDs, and refuses the rest', () => {
    expect(refusal(() => setup({ allowedPrincipals: ['bob@EXAMPLE.TEST'] }).provider.newContext(conn).accept(mint().apReq))).toMatch(/not in allowedPrincipals/);
    const byName = setup({ allowedPrincipals: ['ALICE@example.test'] }).provider.newContext(conn);
    establish(byName, mint());
    const sid = byName.identity!.sids![1]; // Domain Users
    const byGroup = setup({ allowedPrincipals: [sid.toLowerCase()] }).provider.newContext(conn);
    establish(byGroup, mint());
    expect(byGroup.identity?.user).toBe('alice');
  });

  it('the closing AP-REP must echo the acceptor sequence number; a failed context stays failed', () => {
    const ctx = setup().provider.newContext(conn);
    const m = mint();
    const r1 = ctx.accept(m.apReq);
    expect(refusal(() => ctx.accept(m.finish(r1.token!, 1).apRep))).toMatch(/does not echo the acceptor sequence number/);
    expect(refusal(() => ctx.accept(m.finish(r1.token!).apRep))).toMatch(/failed/);
    const other = setup().provider.newContext(conn);
    other.accept(mint({ cusec: 9 }).apReq);
    expect(refusal(() => other.accept(Buffer.from('6f03020105', 'hex')))).toMatch(/malformed/);
    expect(ctx.identity).toBeUndefined();
  });

  it('an RC4 ticket gets an AES acceptor subkey when the client lists one, and is refused when it lists none', () => {
    const { provider } = setup();
    const ctx = provider.newContext(conn, { authLevel: AuthLevel.Privacy, headerSigning: true });
    const reply = establish(ctx, mint({ serviceKey: rc4Key, serviceEnctype: EncType.RC4_HMAC, pac: undefined }));
    expect(reply.subkey?.keytype).toBe(EncType.AES256_CTS_HMAC_SHA1_96);
    expect(ctx.identity).toMatchObject({ domain: 'EXAMPLE.TEST', user: 'alice', principal: 'alice@EXAMPLE.TEST' });
    expect(refusal(() => provider.newContext(conn).accept(mint({ serviceKey: rc4Key, serviceEnctype: EncType.RC4_HMAC, pac: undefined, subkeyEtypes: [23], cusec: 8 }).apReq)))
      .toMatch(/no AES enctype/);
  });

  it('an aes256-sha384 (RFC 8009) ticket is accepted, with an aes-sha1 acceptor subkey for the verifiers', () => {
    const ctx = setup().provider.newContext(conn, { authLevel: AuthLevel.Privacy, headerSigning: true });
    const reply = establish(ctx, mint({ serviceKey: sha2Key, serviceEnctype: EncType.AES256_CTS_HMAC_SHA384_192, pac: undefined, subkeyEtypes: [20, 19, 18, 17] }));
    expect(reply.subkey?.keytype).toBe(EncType.AES256_CTS_HMAC_SHA1_96);
    expect(ctx.identity?.principal).toBe('alice@EXAMPLE.TEST');
  });

  it('hostile ASN.1: every truncation, a bad tag, a huge length and deep AD nesting are refusals', () => {
    const { provider } = setup();
    const apReq = mint().apReq;
    for (let n = 0; n < apReq.length; n += 7) refusal(() => provider.newContext(conn).accept(apReq.subarray(0, n)));
    refusal(() => provider.newContext(conn).accept(Buffer.from([0x6e, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x30])));
    refusal(() => provider.newContext(conn).accept(Buffer.from('6d03020105', 'hex')));
    let ad: { adType: number; adData: Buffer }[] = [{ adType: AdType.WIN2K_PAC, adData: labPac }];
    for (let i = 0; i < 6; i++) ad = [{ adType: AdType.IF_RELEVANT, adData: encodeAuthorizationData(ad) }];
    expect(() => findAuthorizationData(ad, AdType.WIN2K_PAC)).toThrow(/nested too deep/);
    expect(refusal(() => provider.newContext(conn).accept(mintApReq({ serviceKey, now: NOW, cusec: 11 }).apReq.subarray(0, 40)))).toMatch(/malformed/);
  });

  it('re-reads the keytab when it changes (key rollover to kvno 3)', () => {
    const s = setup();
    const newKey = Buffer.alloc(32, 0x33);
    writeFileSync(s.file, keytab(newKey, 3));
    s.setNow(NOW + 2000);
    const ctx = s.provider.newContext(conn);
    establish(ctx, mintApReq({ serviceKey: newKey, kvno: 3, now: NOW + 2000 }));
    expect(ctx.identity?.principal).toBe('alice@EXAMPLE.TEST');
    // A broken file keeps the previous keys.
    writeFileSync(s.file, Buffer.from('junk'));
    s.setNow(NOW + 4000);
    expect(s.provider.newContext(conn).accept(mintApReq({ serviceKey: newKey, kvno: 3, now: NOW + 4000 }).apReq).complete).toBe(false);
    expect(s.logs.some((l) => /keeping the previous keys/.test(l.msg))).toBe(true);
  });

  it('checkKerberosConfig and createKerberosProvider name the file and the missing principal', () => {
    const file = writeKeytab(keytab());
    expect(checkKerberosConfig({ keytab: file, principals: ['cifs/sofs.example.test', 'host/SOFS@EXAMPLE.TEST'] })).toEqual([]);
    expect(checkKerberosConfig({ keytab: file, principals: ['cifs/other.example.test'] })[0]).toMatch(/no key for cifs\/other.example.test/);
    expect(checkKerberosConfig({ keytab: '/nonexistent/x.keytab' })[0]).toMatch(/\/nonexistent\/x.keytab: ENOENT/);
    expect(() => createKerberosProvider({ keytab: writeKeytab(Buffer.from([5, 1, 0, 0])) })).toThrow(/0x0501/);
  });
});
