/**
 * The lab captures replayed against our acceptor (auth type 16, raw DCE-style krb5): the
 * ticket decrypts with the keytab, the AP-REP we send equals the DC's byte for byte when we
 * are given its subkey, sequence number and confounder, the client's closing AP-REP is
 * accepted, and every captured request verifier verifies while every response verifier we
 * produce equals the captured one (MIC at integrity, Wrap and the sealed stub at privacy).
 */
import { createKerberosProvider } from '../../../../src/auth/krb5';
import { createSpnegoProvider } from '../../../../src/auth/spnego';
import { AuthLevel } from '../../../../src/rpc/security';
import { CfxContext } from '../../../../src/auth/krb5/cfx';
import { captured, flows, secTrailer, scripted, wrapConfounder, writeKeytab, type Flow } from './lab-helpers';

const conn = { localAddress: '127.0.0.42', remoteAddress: '127.0.0.50', remotePort: 50000 };

function replay(f: Flow) {
  const c = captured(f);
  const confounders = f.pdus.filter((p) => p.ptype === 2 && f.level === AuthLevel.Privacy).map((p) => wrapConfounder(c.subkey, p.pdu));
  const seq = Buffer.alloc(4);
  seq.writeUInt32BE(c.acceptorSeq);
  const provider = createKerberosProvider({
    keytab: writeKeytab(), now: () => c.ctime + 1500, randomBytes: scripted([c.subkey, seq, c.confounder, ...confounders]),
  });
  return { c, provider, ctx: provider.newContext(conn, { authLevel: f.level, headerSigning: true }) };
}

describe.each(flows().filter((f) => f.authType === 16).map((f) => [f.name, f] as const))('lab flow %s (auth type 16)', (_name, f) => {
  it('bind: the AP-REQ is accepted and our AP-REP equals the DC\'s; auth3 completes as alice with her PAC SIDs', () => {
    const { c, ctx } = replay(f);
    const r1 = ctx.accept(secTrailer(f.pdus[0].pdu).authValue);
    expect(r1.complete).toBe(false);
    expect(r1.token!.toString('hex')).toBe(c.apRep.toString('hex'));
    expect(f.pdus[2].ptype).toBe(16); // auth3
    const r2 = ctx.accept(secTrailer(f.pdus[2].pdu).authValue);
    expect(r2).toEqual({ complete: true });
    expect(ctx.identity).toMatchObject({ domain: 'EXAMPLE', user: 'alice', anonymous: false, principal: 'alice@EXAMPLE.TEST' });
    expect(ctx.identity!.sids![0]).toMatch(/^S-1-5-21-\d+-\d+-\d+-1103$/);
    expect(ctx.identity!.sids).toContain(ctx.identity!.sids![0].replace(/-1103$/, '-513'));
    expect(ctx.signatureLength).toBe(f.level === AuthLevel.Privacy ? 76 : 28);
  });

  it('every request verifier verifies and every response verifier is reproduced byte for byte', () => {
    const { c, ctx } = replay(f);
    ctx.accept(secTrailer(f.pdus[0].pdu).authValue);
    ctx.accept(secTrailer(f.pdus[2].pdu).authValue);
    // The client's view, to read the captured responses in the clear.
    const client = new CfxContext({
      key: c.subkey, enctype: 18, initiatorSeq: f.initiatorSeq, acceptorSeq: c.acceptorSeq, headerSigning: true, role: 'initiator',
    });
    let checked = 0;
    for (const p of f.pdus.filter((x) => x.ptype === 0 || x.ptype === 2)) {
      const st = secTrailer(p.pdu);
      const head = Buffer.from(p.pdu.subarray(0, st.at + 8));
      if (p.ptype === 0) {
        ctx.unprotect(head, 24, st.at, f.level, Buffer.from(st.authValue));
        expect(head.subarray(24, st.at).equals(p.pdu.subarray(24, st.at))).toBe(f.level !== AuthLevel.Privacy);
      } else {
        const clear = Buffer.from(head);
        if (f.level === AuthLevel.Privacy) client.unsealPdu(clear, 24, st.at, st.authValue);
        else client.verifyPdu(clear, 24, st.at, st.authValue);
        const sig = ctx.protect(clear, 24, st.at, f.level);
        expect(sig.toString('hex')).toBe(st.authValue.toString('hex'));
        expect(clear.toString('hex')).toBe(head.toString('hex'));
      }
      checked++;
    }
    expect(checked).toBe(5);
  });
});

describe.each(flows().filter((f) => f.authType === 9).map((f) => [f.name, f] as const))('lab flow %s (SPNEGO, krb5 only)', (_name, f) => {
  it('bind_ack and alter_context_resp tokens equal the DC\'s; requests verify and responses are reproduced', () => {
    const { c, provider } = replay(f);
    const ctx = createSpnegoProvider(undefined, provider).newContext(conn, { authLevel: f.level, headerSigning: true });
    const r1 = ctx.accept(secTrailer(f.pdus[0].pdu).authValue);
    expect(r1.token!.toString('hex')).toBe(secTrailer(f.pdus[1].pdu).authValue.toString('hex'));
    expect(f.pdus[2].ptype).toBe(14); // alter_context: the client's AP-REP and mechListMIC
    const r2 = ctx.accept(secTrailer(f.pdus[2].pdu).authValue);
    expect(r2.complete).toBe(true);
    expect(r2.token!.toString('hex')).toBe(secTrailer(f.pdus[3].pdu).authValue.toString('hex'));
    expect(ctx.identity).toMatchObject({ domain: 'EXAMPLE', user: 'alice', principal: 'alice@EXAMPLE.TEST' });
    expect(ctx.signatureLength).toBe(f.level === AuthLevel.Privacy ? 76 : 28);
    // The mechListMICs used N and M: the first request carries N+1, the first response M+1.
    const client = new CfxContext({
      key: c.subkey, enctype: 18, initiatorSeq: f.initiatorSeq + 1, acceptorSeq: c.acceptorSeq + 1, headerSigning: true, role: 'initiator',
    });
    let checked = 0;
    for (const p of f.pdus.filter((x) => x.ptype === 0 || x.ptype === 2)) {
      const st = secTrailer(p.pdu);
      const head = Buffer.from(p.pdu.subarray(0, st.at + 8));
      if (p.ptype === 0) {
        ctx.unprotect(head, 24, st.at, f.level, Buffer.from(st.authValue));
      } else {
        const clear = Buffer.from(head);
        if (f.level === AuthLevel.Privacy) client.unsealPdu(clear, 24, st.at, st.authValue);
        else client.verifyPdu(clear, 24, st.at, st.authValue);
        expect(ctx.protect(clear, 24, st.at, f.level).toString('hex')).toBe(st.authValue.toString('hex'));
        expect(clear.equals(head)).toBe(true);
      }
      checked++;
    }
    expect(checked).toBe(4);
  });
});
