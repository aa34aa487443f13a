/**
 * What protecting one AsyncNotify response costs, per mechanism, in this process: the server
 * context's protect() (seal at privacy, sign at integrity) plus the client's check of it
 * (unseal / verify), on contexts established through each provider's own handshake
 * (Kerberos: the acceptor with an aes256 acceptor subkey; NTLMSSP: RC4 + HMAC-MD5 with
 * extended session security and key exchange). Kerberos and NTLMSSP alternate within each
 * repetition, so the ratio is paired.
 */
import { createNtlmsspProvider, MemoryAccountSource } from '../../../src/auth';
import { createKerberosProvider } from '../../../src/auth/krb5';
import { encodeWitnessrAsyncNotifyOut } from '../../../src/gen/witness';
import { AuthLevel, type SecurityContext } from '../../../src/rpc/security';
import { TestNtlmClient } from '../../../test/unit/auth/ntlm-test-client';
import { asyncNotifySample } from '../codec';
import { KrbInitiatorContext, type Credential } from './krb5-initiator';
import { pairedRatio, summarize } from './stats';
import type { BenchRow } from './types';

const CONN = { localAddress: '127.0.0.11', remoteAddress: '127.0.0.1', remotePort: 50000 };

/** One AsyncNotify response PDU (RESOURCE_CHANGE, one message), stub padded to 16, sec_trailer; [stubStart, stubEnd). */
function asyncNotifyPdu(level: AuthLevel, verifierLength: number): { pdu: Buffer; stubStart: number; stubEnd: number } {
  const stub = encodeWitnessrAsyncNotifyOut(asyncNotifySample(1));
  const pad = (16 - (stub.length % 16)) % 16;
  const stubEnd = 24 + stub.length + pad;
  const pdu = Buffer.alloc(stubEnd + 8);
  pdu.set([5, 0, 2, 3, 0x10, 0, 0, 0]);
  pdu.writeUInt16LE(stubEnd + 8 + verifierLength, 8);
  pdu.writeUInt16LE(verifierLength, 10);
  stub.copy(pdu, 24);
  pdu.set([0, level, pad, 0, 1, 0, 0, 0], stubEnd);
  return { pdu, stubStart: 24, stubEnd };
}

/** A server context and the client's check of what it protects. */
interface Side {
  readonly server: SecurityContext;
  check(pdu: Buffer, stubStart: number, stubEnd: number, sig: Buffer): void;
}

/** µs per (protect + client check) over `ms`, on a fresh copy of the PDU each time (sealing is in place). */
function cost(s: Side, level: AuthLevel, ms: number): number {
  const { pdu, stubStart, stubEnd } = asyncNotifyPdu(level, s.server.signatureLength);
  const work = Buffer.alloc(pdu.length);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 100; i++) {
      pdu.copy(work);
      s.check(work, stubStart, stubEnd, s.server.protect(work, stubStart, stubEnd, level));
    }
    n += 100;
  }
  return ((performance.now() - t0) * 1000) / n;
}

function kerberosSide(keytab: string, cred: Credential, level: AuthLevel): Side {
  const krb = createKerberosProvider({ keytab });
  const server = krb.newContext(CONN, { authLevel: level, headerSigning: true });
  const init = new KrbInitiatorContext(cred, { confidentiality: level === AuthLevel.Privacy });
  if (!server.accept(init.apRep(server.accept(init.apReq()).token!)).complete) throw new Error('Kerberos context did not complete');
  const p = init.protection;
  return {
    server,
    check: level === AuthLevel.Privacy ? (pdu, a, b, sig) => p.unsealPdu(pdu, a, b, sig) : (pdu, a, b, sig) => p.verifyPdu(pdu, a, b, sig),
  };
}

function ntlmSide(level: AuthLevel): Side {
  const ntlm = createNtlmsspProvider({
    accounts: new MemoryAccountSource([{ domain: 'DEMO', user: 'demo', password: 'demo-password' }]),
    netbiosComputerName: 'SOFS', netbiosDomainName: 'DEMO',
  });
  const server = ntlm.newContext(CONN, { authLevel: level, headerSigning: true });
  const client = new TestNtlmClient({ user: 'demo', domain: 'DEMO', password: 'demo-password' });
  if (!server.accept(client.authenticate(server.accept(client.negotiate()).token!)).complete) throw new Error('NTLMSSP context did not complete');
  const seal = level === AuthLevel.Privacy;
  return {
    server,
    check: (pdu, a, b, sig) => {
      if (!client.recv.verifyPdu(pdu, sig, seal, a, b)) throw new Error('NTLMSSP client: the response does not verify');
    },
  };
}

/** Two rows: seal+unseal (privacy) and sign+verify (integrity), Kerberos aes256 against NTLMSSP. */
export function perMessageRows(keytab: string, cred: Credential, o: { quick: boolean; reps: number }): BenchRow[] {
  const ms = o.quick ? 100 : 1000;
  const reps = Math.max(3, o.reps);
  const stubBytes = asyncNotifyPdu(AuthLevel.Privacy, 0).stubEnd - 24;
  const rows: BenchRow[] = [];
  for (const [level, what, krbToken, ntlmWhat] of [
    [AuthLevel.Privacy, 'seal + unseal', 'Wrap', 'seal (RC4 + HMAC-MD5)'],
    [AuthLevel.Integrity, 'sign + verify', 'MIC', 'sign (HMAC-MD5, RC4 on the checksum)'],
  ] as const) {
    const k = kerberosSide(keytab, cred, level);
    const n = ntlmSide(level);
    cost(k, level, ms / 2);
    cost(n, level, ms / 2);
    const ks: number[] = [];
    const ns: number[] = [];
    for (let i = 0; i < reps; i++) {
      ks.push(cost(k, level, ms));
      ns.push(cost(n, level, ms));
    }
    const ratio = pairedRatio(ks, ns);
    rows.push({
      suite: 'krb5',
      name: `${what} one AsyncNotify response (${stubBytes} B stub): Kerberos aes256 ${krbToken}`,
      unit: 'µs',
      better: 'lower',
      value: summarize(ks),
      baseline: { name: `NTLMSSP ${ntlmWhat} + the client's check, same PDU, same run`, value: summarize(ns) },
      ratio,
      target: { text: '≤ 1.5× NTLMSSP', met: ratio.median <= 1.5 },
      notes: ['in-process: server protect() + client check per response, PDU copied fresh each time'],
    });
  }
  return rows;
}
