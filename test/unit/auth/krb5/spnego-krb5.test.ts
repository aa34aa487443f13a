/** SPNEGO with the krb5 mechanism: mechanism choice, NTLM turned off, downgrades, GSS framing, mechListMIC. */
import { createKerberosProvider } from '../../../../src/auth/krb5';
import { CfxContext } from '../../../../src/auth/krb5/cfx';
import { MemoryAccountSource } from '../../../../src/auth/accounts';
import { createSpnegoProvider } from '../../../../src/auth/spnego';
import { NegState, OID, encodeMechTypeList, encodeNegTokenInit, encodeNegTokenResp, parseNegotiationToken, type NegTokenResp } from '../../../../src/auth/spnego-token';
import { encodeOid, tlv } from '../../../../src/auth/der';
import { AuthLevel, AuthRejected } from '../../../../src/rpc/security';
import { TestNtlmClient } from '../ntlm-test-client';
import { serviceKey, writeKeytab } from './lab-helpers';
import { mintApReq } from './test-initiator';
import { encodeKeytab } from '../../../../src/auth/krb5/keytab';

const NOW = Date.UTC(2026, 11, 4, 12, 0, 0);
const conn = { localAddress: '127.0.0.42', remoteAddress: '127.0.0.78', remotePort: 40002 };
const params = { authLevel: AuthLevel.Privacy, headerSigning: true };
const ntlmOpts = {
  accounts: new MemoryAccountSource([{ user: 'alice', password: 'Secret123' }]), netbiosComputerName: 'SOFS', netbiosDomainName: 'EXAMPLE',
};
const krb = createKerberosProvider({
  keytab: writeKeytab(encodeKeytab([{ realm: 'EXAMPLE.TEST', components: ['cifs', 'sofs.example.test'], timestamp: 0, kvno: 2, enctype: 18, key: serviceKey }])),
  now: () => NOW,
});
const resp = (b: Buffer) => parseNegotiationToken(b) as NegTokenResp;
let cusec = 0;
const mint = () => mintApReq({ serviceKey, now: NOW, sname: ['cifs', 'sofs.example.test'], cusec: ++cusec });

/** Finish a krb5 exchange from the acceptor's AP-REP: the client's AP-REP and mechListMIC, then check ours. */
function finishKrb(ctx: ReturnType<ReturnType<typeof createSpnegoProvider>['newContext']>, m: ReturnType<typeof mint>, apRep: Buffer, mechs: string[], sendMic = true) {
  const { reply, apRep: clientApRep } = m.finish(apRep);
  const client = new CfxContext({ key: reply.subkey!.keyvalue, enctype: 18, initiatorSeq: m.seq, acceptorSeq: reply.seqNumber!, headerSigning: true, role: 'initiator' });
  const der = encodeMechTypeList(mechs);
  const r = ctx.accept(encodeNegTokenResp({ responseToken: clientApRep, mechListMIC: sendMic ? client.getMic(der) : undefined }));
  return { r, client, der };
}

describe('SPNEGO with Kerberos', () => {
  it('Samba/Windows order [MS-KRB5, KRB5, NTLMSSP] with NTLM on: Kerberos is chosen, the MICs verify both ways', () => {
    const mechs = [OID.MS_KERBEROS, OID.KERBEROS, OID.NTLMSSP];
    const ctx = createSpnegoProvider(ntlmOpts, krb).newContext(conn, params);
    const m = mint();
    const t1 = resp(ctx.accept(encodeNegTokenInit(mechs, m.apReq)).token!);
    expect(t1).toMatchObject({ negState: NegState.AcceptIncomplete, supportedMech: OID.MS_KERBEROS });
    const { r, client, der } = finishKrb(ctx, m, t1.responseToken!, mechs);
    const t2 = resp(r.token!);
    expect(r.complete).toBe(true);
    expect(t2.negState).toBe(NegState.AcceptCompleted);
    client.verifyMic(t2.mechListMIC!, der);
    expect(ctx.identity?.principal).toBe('alice@EXAMPLE.TEST');
    expect(ctx.signatureLength).toBe(76);
  });

  it('answers with the OID the client listed first (standard KRB5) and takes a GSS-framed AP-REQ', () => {
    const mechs = [OID.KERBEROS];
    const ctx = createSpnegoProvider(undefined, krb).newContext(conn, params);
    const m = mint();
    const framed = tlv(0x60, encodeOid(OID.KERBEROS), Buffer.from([1, 0]), m.apReq);
    const t1 = resp(ctx.accept(encodeNegTokenInit(mechs, framed)).token!);
    expect(t1.supportedMech).toBe(OID.KERBEROS);
    expect(finishKrb(ctx, m, t1.responseToken!, mechs).r.complete).toBe(true);
  });

  it('NTLM off: an NTLMSSP-only client gets bind_nak reason 8; raw NTLMSSP is refused', () => {
    const ctx = createSpnegoProvider(undefined, krb).newContext(conn, params);
    const neg = new TestNtlmClient({ user: 'alice', domain: 'EXAMPLE', password: 'Secret123' }).negotiate();
    expect(() => ctx.accept(encodeNegTokenInit([OID.NTLMSSP], neg))).toThrow(expect.objectContaining({ bindNakReason: 8 }));
    expect(() => createSpnegoProvider(undefined, krb).newContext(conn, params).accept(neg)).toThrow(AuthRejected);
    expect(() => createSpnegoProvider(undefined, undefined)).toThrow(/NTLMSSP options or a Kerberos provider/);
  });

  it('NTLM off, client prefers NTLMSSP: Kerberos is selected with request-mic, the AP-REQ follows, the MIC is required', () => {
    const mechs = [OID.NTLMSSP, OID.MS_KERBEROS];
    const neg = new TestNtlmClient({ user: 'alice', domain: 'EXAMPLE', password: 'Secret123' }).negotiate();
    for (const sendMic of [true, false]) {
      const ctx = createSpnegoProvider(undefined, krb).newContext(conn, params);
      expect(resp(ctx.accept(encodeNegTokenInit(mechs, neg)).token!)).toMatchObject({ negState: NegState.RequestMic, supportedMech: OID.MS_KERBEROS });
      const m = mint();
      const t2 = resp(ctx.accept(encodeNegTokenResp({ responseToken: m.apReq })).token!);
      expect(t2.responseToken![0]).toBe(0x6f);
      if (sendMic) expect(finishKrb(ctx, m, t2.responseToken!, mechs).r.complete).toBe(true);
      else expect(() => finishKrb(ctx, m, t2.responseToken!, mechs, false)).toThrow(/mechListMIC/);
    }
  });

  it('a bad mechListMIC, or a refused ticket, is a refusal', () => {
    const mechs = [OID.MS_KERBEROS, OID.KERBEROS];
    const ctx = createSpnegoProvider(ntlmOpts, krb).newContext(conn, params);
    const m = mint();
    const t1 = resp(ctx.accept(encodeNegTokenInit(mechs, m.apReq)).token!);
    expect(() => finishKrb(ctx, m, t1.responseToken!, [OID.MS_KERBEROS])).toThrow(/mechListMIC does not verify/);
    const wrong = mintApReq({ serviceKey: Buffer.alloc(32, 7), now: NOW, sname: ['cifs', 'sofs.example.test'] });
    expect(() => createSpnegoProvider(ntlmOpts, krb).newContext(conn, params).accept(encodeNegTokenInit(mechs, wrong.apReq))).toThrow(/does not decrypt/);
  });

  it('without a Kerberos provider, [KRB5, NTLMSSP] still falls to NTLMSSP as before', () => {
    const ctx = createSpnegoProvider(ntlmOpts).newContext(conn, params);
    expect(resp(ctx.accept(encodeNegTokenInit([OID.MS_KERBEROS, OID.NTLMSSP], mint().apReq)).token!)).toMatchObject({ negState: NegState.RequestMic, supportedMech: OID.NTLMSSP });
    expect(ctx.signatureLength).toBe(16);
  });
});
