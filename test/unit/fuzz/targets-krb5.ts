/**
 * Fuzz target for the Kerberos parsers and acceptor: the selector's low bits pick the phase
 * (0 AP-REQ in a bind, 1 the closing AP-REP after the lab bind was accepted, then verifiers,
 * 2 the bare decoders: messages, PAC, keytab, 3 SPNEGO with krb5 only). The lab captures are
 * the seeds, with the clock at the capture and the DC's subkey, sequence number and
 * confounder scripted, so unmutated seeds really verify and mutations reach the deep checks.
 */
import { Krb5Acceptor } from '../../../src/auth/krb5/acceptor';
import { KerberosSecurityContext } from '../../../src/auth/krb5/context';
import { KeytabError, ServiceKeys, parseKeytab } from '../../../src/auth/krb5/keytab';
import { enctype } from '../../../src/auth/krb5/enctypes';
import { KeyUsage } from '../../../src/auth/krb5/rfc3961';
import {
  AdType, findAuthorizationData, decodeApRep, decodeApReq, decodeAuthenticator, decodeAuthorizationData, decodeEncApRepPart, decodeEncTicketPart,
} from '../../../src/auth/krb5/messages';
import { PacError, parseLogonInfo, verifyServerSignature } from '../../../src/auth/krb5/pac';
import { ReplayCache } from '../../../src/auth/krb5/replay-cache';
import { KrbCryptoError } from '../../../src/auth/krb5/rfc3961';
import { TokenError } from '../../../src/auth/krb5/cfx';
import { DerError } from '../../../src/auth/der';
import { SpnegoSecurityContext } from '../../../src/auth/spnego';
import { AuthLevel, AuthRejected, IntegrityError } from '../../../src/rpc/security';
import { captured, flows, keytabBytes, secTrailer, serviceKey } from '../auth/krb5/lab-helpers';
import { byteMutate, int, type FuzzTarget, type Rng } from './engine';

const CONN = { localAddress: '127.0.0.11', remoteAddress: '127.0.0.1', remotePort: 40000 };
const SRC = /\/src\/auth\//;

export function krb5Target(): FuzzTarget {
  const all = flows();
  const sign = all.find((f) => f.name === 'dc-sign')!;
  const spnego = all.find((f) => f.name === 'dc-spnego-seal')!;
  const c = captured(sign);
  const keys = new ServiceKeys(parseKeytab(keytabBytes));
  const seq = Buffer.alloc(4);
  seq.writeUInt32BE(c.acceptorSeq);
  const acceptor = (): Krb5Acceptor => {
    const script = [c.subkey, seq, c.confounder];
    return new Krb5Acceptor({
      keys: () => keys, clockSkewMs: 300_000, now: () => c.ctime + 1000, replay: new ReplayCache(16),
      randomBytes: (n) => {
        const v = script.shift();
        return v && v.length === n ? Buffer.from(v) : Buffer.alloc(n, 0x11);
      },
    });
  };
  const bind = secTrailer(sign.pdus[0].pdu).authValue;
  const withSel = (sel: number, b: Buffer) => Buffer.concat([Buffer.from([sel]), b]);
  const seeds = (): Buffer[] => {
    const out = [withSel(0, bind), withSel(1, secTrailer(sign.pdus[2].pdu).authValue), withSel(3, secTrailer(spnego.pdus[0].pdu).authValue)];
    const req = decodeApReq(bind);
    const ticket = enctype(18).decrypt(serviceKey, KeyUsage.TICKET, req.ticket.encPart.cipher);
    const pac = findAuthorizationData(decodeEncTicketPart(ticket).authorizationData, AdType.WIN2K_PAC)[0];
    out.push(withSel(2, ticket), withSel(6, keytabBytes), withSel(7, pac), withSel(4, c.apRep));
    const request = sign.pdus.find((p) => p.ptype === 0)!;
    out.push(withSel(5, Buffer.concat([secTrailer(sign.pdus[2].pdu).authValue, request.pdu])));
    return out;
  };
  return {
    name: 'krb5',
    maxLength: 2048,
    coverage: SRC,
    seeds,
    mutate: (input: Buffer, r: Rng, corpus: readonly Buffer[]) => {
      if (input.length === 0) return Buffer.from([int(r, 8)]);
      const sel = r() < 0.1 ? int(r, 256) : input[0];
      return withSel(sel, byteMutate(input.subarray(1), r, corpus.map((x) => x.subarray(1)), 2047));
    },
    allowed: (e) => e instanceof AuthRejected || e instanceof IntegrityError || e instanceof DerError || e instanceof KrbCryptoError
      || e instanceof PacError || e instanceof KeytabError || e instanceof TokenError,
    run(input) {
      if (input.length === 0) return;
      const sel = input[0];
      const token = input.subarray(1);
      const level = sel & 0x10 ? AuthLevel.Privacy : AuthLevel.Integrity;
      switch (sel & 7) {
        case 0:
          new KerberosSecurityContext(acceptor(), CONN, { authLevel: level, headerSigning: (sel & 0x20) === 0 }).accept(token);
          return;
        case 1:
        case 5: {
          // The lab bind, then the token as the closing AP-REP (phase 5: an AP-REP of 93 bytes, then a request PDU).
          const ctx = new KerberosSecurityContext(acceptor(), CONN, { authLevel: AuthLevel.Integrity, headerSigning: true });
          ctx.accept(bind);
          const split = (sel & 7) === 5 ? Math.min(93, token.length) : token.length;
          ctx.accept(token.subarray(0, split));
          const pdu = Buffer.from(token.subarray(split));
          if (pdu.length >= 24 + 8 + 28) {
            const sigAt = pdu.length - 28;
            ctx.unprotect(pdu.subarray(0, sigAt), 24, sigAt - 8, AuthLevel.Integrity, Buffer.from(pdu.subarray(sigAt)));
            ctx.protect(Buffer.alloc(64), 24, 56, AuthLevel.Integrity);
          }
          return;
        }
        case 2:
          // Decrypted structures (what a ticket or authenticator holds once the key fits).
          try {
            decodeEncTicketPart(token);
          } catch (e) {
            if (!(e instanceof DerError)) throw e;
          }
          decodeAuthenticator(token);
          return;
        case 3:
          new SpnegoSecurityContext(undefined, CONN, { kerberos: acceptor(), params: { authLevel: level, headerSigning: true } }).accept(token);
          return;
        case 4:
          try {
            decodeApRep(token);
          } catch (e) {
            if (!(e instanceof DerError)) throw e;
          }
          decodeEncApRepPart(token);
          return;
        case 6:
          new ServiceKeys(parseKeytab(token));
          return;
        default:
          verifyServerSignature(token, serviceKey, 18);
          parseLogonInfo(token);
          decodeAuthorizationData(token);
      }
    },
  };
}
