/**
 * Kerberos through the RPC runtime on real sockets: auth type 16 (bind → bind_ack AP-REP →
 * auth3) and SPNEGO (bind → bind_ack → alter_context → alter_context_resp), sealed and signed,
 * with and without header signing; fragmented sealed responses; the PAC identity in the call
 * context; refusals as bind_nak and a tampered request as a fault. Tickets come from the test
 * KDC in test/unit/auth/krb5 (the AD DC interop tests use real ones).
 */
import { createKerberosProvider } from '../../../src/auth/krb5';
import { CfxContext } from '../../../src/auth/krb5/cfx';
import { encodeKeytab } from '../../../src/auth/krb5/keytab';
import { createSpnegoProvider } from '../../../src/auth/spnego';
import { NegState, OID, encodeMechTypeList, encodeNegTokenInit, encodeNegTokenResp, parseNegotiationToken, type NegTokenResp } from '../../../src/auth/spnego-token';
import { AuthLevel } from '../../../src/rpc/security';
import { mintApReq } from '../../unit/auth/krb5/test-initiator';
import { startHarness, type Harness } from '../rpc/helpers/harness';
import { FIRST, HDR_SIGN, LAST, NDR, PT, alter, auth3, bind, request, type Parsed } from '../rpc/helpers/pdu-builder';
import { TEST_SYNTAX, u32le } from '../rpc/helpers/test-interface';
import { flows, secTrailer, serviceKey, writeKeytab } from '../../unit/auth/krb5/lab-helpers';
import { decodeApReq, decodeEncTicketPart, findAuthorizationData, AdType } from '../../../src/auth/krb5/messages';
import { enctype } from '../../../src/auth/krb5/enctypes';

jest.setTimeout(20000);

const labPac = (() => {
  const req = decodeApReq(secTrailer(flows()[0].pdus[0].pdu).authValue);
  return findAuthorizationData(decodeEncTicketPart(enctype(18).decrypt(serviceKey, 2, req.ticket.encPart.cipher)).authorizationData, AdType.WIN2K_PAC)[0];
})();

let h: Harness;
afterEach(async () => { await h.close(); });

async function start(extra: { allowedPrincipals?: string[] } = {}) {
  const keytab = writeKeytab(encodeKeytab([{ realm: 'EXAMPLE.TEST', components: ['cifs', 'sofs.example.test'], timestamp: 0, kvno: 2, enctype: 18, key: serviceKey }]));
  const krb = createKerberosProvider({ keytab, ...extra });
  h = await startHarness({ securityProviders: [krb, createSpnegoProvider(undefined, krb)] });
}

const ctx0 = [{ id: 0, abstract: TEST_SYNTAX, transfers: [NDR] }];
const spec = (type: number, level: number, token: Buffer) => ({ type, level, contextId: 1, token });
const mint = () => mintApReq({ serviceKey, now: Date.now(), sname: ['cifs', 'sofs.example.test'], pac: labPac, cusec: Math.floor(Math.random() * 999999) });

function clientCtx(m: ReturnType<typeof mint>, apRep: Buffer, headerSigning: boolean) {
  const { reply, apRep: closing } = m.finish(apRep);
  const cfx = new CfxContext({
    key: reply.subkey!.keyvalue, enctype: 18, initiatorSeq: m.seq, acceptorSeq: reply.seqNumber!, headerSigning, role: 'initiator',
  });
  return { cfx, closing };
}

function protectedRequest(type: number, level: number, cfx: CfxContext, callId: number, opnum: number, stub: Buffer): Buffer {
  return request({
    callId, opnum, stub,
    auth: {
      type, level, contextId: 1, sigLength: level === AuthLevel.Privacy ? 76 : 28,
      protect: (pdu, s, e) => (level === AuthLevel.Privacy ? cfx.sealPdu(pdu, s, e) : cfx.signPdu(pdu, s, e)),
    },
  });
}

function open(cfx: CfxContext, r: Parsed, level: number): Buffer {
  expect(r.ptype).toBe(PT.RESPONSE);
  expect(r.authLength).toBe(level === AuthLevel.Privacy ? 76 : 28);
  const pdu = Buffer.from(r.raw.subarray(0, r.auth!.offset + 8));
  if (level === AuthLevel.Privacy) cfx.unsealPdu(pdu, 24, r.auth!.offset, r.auth!.value);
  else cfx.verifyPdu(pdu, 24, r.auth!.offset, r.auth!.value);
  return pdu.subarray(24, r.auth!.offset - r.auth!.padLength);
}

describe('Kerberos over the RPC runtime', () => {
  it.each([
    ['privacy, header signing', AuthLevel.Privacy, true],
    ['integrity, header signing', AuthLevel.Integrity, true],
    ['integrity, no header signing', AuthLevel.Integrity, false],
  ] as const)('auth type 16 at %s: bind, auth3, calls, fragmented responses', async (_n, level, hs) => {
    await start();
    const c = await h.connect();
    const m = mint();
    c.send(bind({ callId: 1, flags: FIRST | LAST | (hs ? HDR_SIGN : 0), maxXmit: 1024, maxRecv: 1024, contexts: ctx0, auth: spec(16, level, m.apReq) }));
    const ack = await c.recv();
    expect(ack.ptype).toBe(PT.BIND_ACK);
    expect(ack.flags & HDR_SIGN).toBe(hs ? HDR_SIGN : 0);
    const { cfx, closing } = clientCtx(m, ack.auth!.value, hs);
    c.send(auth3({ callId: 1, auth: spec(16, level, closing) }));
    c.send(protectedRequest(16, level, cfx, 2, 6, Buffer.alloc(0)));
    const who = JSON.parse(open(cfx, await c.recv(), level).toString());
    expect(who.identity).toMatchObject({ domain: 'EXAMPLE', user: 'alice', principal: 'alice@EXAMPLE.TEST', anonymous: false });
    expect(who.identity.sids.length).toBeGreaterThanOrEqual(2);
    c.send(protectedRequest(16, level, cfx, 3, 5, u32le(5000)));
    const parts: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const x = await c.recv();
      parts.push(open(cfx, x, level));
      if (x.flags & LAST) break;
    }
    expect(parts.length).toBeGreaterThan(2);
    const all = Buffer.concat(parts);
    expect(all.length).toBe(5000);
    expect(all[4999]).toBe(4999 & 0xff);
  });

  it('SPNEGO (krb5 only) at privacy: bind, alter_context with the mechListMIC, sealed calls', async () => {
    await start();
    const c = await h.connect();
    const m = mint();
    const mechs = [OID.MS_KERBEROS, OID.KERBEROS];
    c.send(bind({ callId: 1, flags: FIRST | LAST | HDR_SIGN, contexts: ctx0, auth: spec(9, AuthLevel.Privacy, encodeNegTokenInit(mechs, m.apReq)) }));
    const ack = await c.recv();
    expect(ack.ptype).toBe(PT.BIND_ACK);
    const t1 = parseNegotiationToken(ack.auth!.value) as NegTokenResp;
    expect(t1.supportedMech).toBe(OID.MS_KERBEROS);
    const { cfx, closing } = clientCtx(m, t1.responseToken!, true);
    const der = encodeMechTypeList(mechs);
    c.send(alter({ callId: 1, contexts: ctx0, auth: spec(9, AuthLevel.Privacy, encodeNegTokenResp({ responseToken: closing, mechListMIC: cfx.getMic(der) })) }));
    const resp = await c.recv();
    expect(resp.ptype).toBe(PT.ALTER_RESP);
    const t2 = parseNegotiationToken(resp.auth!.value) as NegTokenResp;
    expect(t2.negState).toBe(NegState.AcceptCompleted);
    cfx.verifyMic(t2.mechListMIC!, der);
    c.send(protectedRequest(9, AuthLevel.Privacy, cfx, 2, 0, Buffer.from('secret stub')));
    expect(open(cfx, await c.recv(), AuthLevel.Privacy).toString('latin1')).toBe('\x01secret stub');
  });

  it('a ticket under another key, or a principal outside the allow-list, gets bind_nak reason 9', async () => {
    await start({ allowedPrincipals: ['bob@EXAMPLE.TEST'] });
    for (const token of [mintApReq({ serviceKey: Buffer.alloc(32, 1), now: Date.now(), sname: ['cifs', 'sofs.example.test'] }).apReq, mint().apReq]) {
      const c = await h.connect();
      c.send(bind({ callId: 1, contexts: ctx0, auth: spec(16, AuthLevel.Integrity, token) }));
      const nak = await c.recv();
      expect(nak.ptype).toBe(PT.BIND_NAK);
      expect(nak.rejectReason).toBe(9);
    }
  });

  it('a tampered sealed request is a fault and the connection closes', async () => {
    await start();
    const c = await h.connect();
    const m = mint();
    c.send(bind({ callId: 1, flags: FIRST | LAST | HDR_SIGN, contexts: ctx0, auth: spec(16, AuthLevel.Privacy, m.apReq) }));
    const ack = await c.recv();
    const { cfx, closing } = clientCtx(m, ack.auth!.value, true);
    c.send(auth3({ callId: 1, auth: spec(16, AuthLevel.Privacy, closing) }));
    const req = protectedRequest(16, AuthLevel.Privacy, cfx, 2, 0, Buffer.from('0123456789abcdef'));
    req[30] ^= 1;
    c.send(req);
    const f = await c.recv();
    expect(f.ptype).toBe(PT.FAULT);
    expect(f.status).toBe(0x721); // rpc_s_sec_pkg_error, as Windows and Samba answer a bad verifier
  });
});
