/**
 * The benchmarks' Kerberos initiator against the real acceptor: every authenticator of a fast
 * burst has its own (ctime, cusec), so the replay cache lets all of them in, while the same
 * AP-REQ sent again is still refused; a minted ticket establishes a privacy context whose Wrap
 * tokens round-trip in both directions.
 */
import { randomBytes } from 'node:crypto';
import { createKerberosProvider } from '../../../src/auth/krb5';
import { EncType } from '../../../src/auth/krb5/enctypes';
import { encodeKeytab } from '../../../src/auth/krb5/keytab';
import { AuthLevel, AuthRejected } from '../../../src/rpc/security';
import { KrbInitiatorContext, authenticatorTime, mintCredential } from '../../../scripts/bench/lib/krb5-initiator';
import { writeKeytab } from '../auth/krb5/lab-helpers';

const serviceKey = randomBytes(32);
const sname = ['cifs', 'sofs.example.test'];
const keytab = writeKeytab(encodeKeytab([{ realm: 'EXAMPLE.TEST', components: sname, timestamp: 0, kvno: 3, enctype: EncType.AES256_CTS_HMAC_SHA1_96, key: serviceKey }]));
const conn = { localAddress: '127.0.0.42', remoteAddress: '127.0.0.77', remotePort: 40000 };
const cred = mintCredential({ serviceKey, enctype: EncType.AES256_CTS_HMAC_SHA1_96, kvno: 3, sname, realm: 'EXAMPLE.TEST', client: 'bench' });

describe('bench Kerberos initiator', () => {
  it('gives every authenticator its own (ctime, cusec), however fast they are made', () => {
    const seen = new Set<string>();
    let wholeSeconds = true;
    for (let i = 0; i < 20_000; i++) {
      const t = authenticatorTime();
      wholeSeconds &&= t.ctime % 1000 === 0 && t.cusec >= 0 && t.cusec < 1e6;
      seen.add(`${t.ctime}|${t.cusec}`);
    }
    expect(wholeSeconds).toBe(true);
    expect(seen.size).toBe(20_000);
  });

  it('a burst of binds with one ticket all pass the replay cache; a replayed AP-REQ is refused', () => {
    const provider = createKerberosProvider({ keytab });
    let last: Buffer | undefined;
    for (let i = 0; i < 500; i++) {
      const init = new KrbInitiatorContext(cred);
      const ctx = provider.newContext({ ...conn, remotePort: 40000 + i }, { authLevel: AuthLevel.Integrity, headerSigning: true });
      last = init.apReq();
      const r1 = ctx.accept(last);
      expect(ctx.accept(init.apRep(r1.token!)).complete).toBe(true);
    }
    const replay = provider.newContext({ ...conn, remotePort: 39999 }, { authLevel: AuthLevel.Integrity, headerSigning: true });
    expect(() => replay.accept(last!)).toThrow(AuthRejected);
    expect(() => provider.newContext(conn).accept(last!)).toThrow(/replayed authenticator/);
  });

  it('a privacy context made from a minted ticket seals and unseals both ways', () => {
    const provider = createKerberosProvider({ keytab });
    const init = new KrbInitiatorContext(cred, { confidentiality: true });
    const ctx = provider.newContext(conn, { authLevel: AuthLevel.Privacy, headerSigning: true });
    expect(ctx.accept(init.apRep(ctx.accept(init.apReq()).token!)).complete).toBe(true);
    for (const len of [16, 48, 96, 200, 1000]) {
      const clear = Buffer.concat([Buffer.alloc(24, 1), randomBytes(len), Buffer.alloc(8, 2)]);
      // server → client
      const pdu = Buffer.from(clear);
      const sig = ctx.protect(pdu, 24, 24 + len, AuthLevel.Privacy);
      expect(sig.length).toBe(init.wrapLength);
      expect(pdu.subarray(24, 24 + len).equals(clear.subarray(24, 24 + len))).toBe(false);
      init.protection.unsealPdu(pdu, 24, 24 + len, sig);
      expect(pdu).toEqual(clear);
      // client → server
      const req = Buffer.from(clear);
      const rsig = init.protection.sealPdu(req, 24, 24 + len);
      ctx.unprotect(req, 24, 24 + len, AuthLevel.Privacy, rsig);
      expect(req).toEqual(clear);
    }
  });
});
