/**
 * Sealed fan-out diagnosis (issue 24 item 2), not part of `npm run bench`: what building one
 * protected AsyncNotify response (encode, buildResponseFragments with the context's
 * protectInto) costs the server, for N established contexts of one kind, in this process, no
 * sockets. KIND=none|kerberos|ntlmssp (packet privacy; Kerberos: aes256 acceptor subkey),
 * N contexts (default 10000), ROUNDS of one response per context; MODE=one answers N times on
 * the first context (what one context costs without cache misses). MEM=1 prints memory per context.
 *
 *   KIND=kerberos node -r ./scripts/bench/lib/register.js scripts/bench/seal-diag.ts
 *
 * Instruction counts of the measured rounds only (load-independent; issue 24's figures):
 * CG=1 turns valgrind's instrumentation on after WARM rounds (default 20) and off after them,
 *
 *   CG=1 KIND=kerberos N=1000 ROUNDS=5 valgrind --tool=callgrind --instr-atstart=no \
 *     node --single-threaded -r ./scripts/bench/lib/register.js scripts/bench/seal-diag.ts
 *
 * then instructions per response = callgrind's total / (N × ROUNDS). --single-threaded makes
 * the count repeat to the instruction: with V8's background compiler and GC threads, when
 * optimized code arrives and whether a mark-compact falls into the window depend on the
 * machine's load, and runs differed by up to 2×. Add --perf-basic-prof to node to name the JIT
 * code's addresses from /tmp/perf-PID.map.
 * Measured so (issue 24, N=1000, ROUNDS=5), instructions per response, before the sealing work
 * (fbacd3f) → after: unauthenticated 15,120 → 12,907 (the fan-out work); Kerberos 52,066 → 41,391;
 * NTLMSSP 52,010 → 34,409.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createNtlmsspProvider, MemoryAccountSource } from '../../src/auth';
import { createKerberosProvider } from '../../src/auth/krb5';
import { EncType } from '../../src/auth/krb5/enctypes';
import { encodeKeytab } from '../../src/auth/krb5/keytab';
import { encodeWitnessrAsyncNotifyOut } from '../../src/gen/witness';
import { buildResponseFragments } from '../../src/rpc/pdu';
import { AuthLevel, type AuthState, type SecurityProvider } from '../../src/rpc/security';
import { TestNtlmClient } from '../../test/unit/auth/ntlm-test-client';
import { asyncNotifySample } from './codec';
import { KrbInitiatorContext, mintCredential } from './lib/krb5-initiator';

const N = Number(process.env.N ?? 10000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const WARM = Number(process.env.WARM ?? 20);
const KIND = process.env.KIND ?? 'kerberos';
const ONE = process.env.MODE === 'one';
const CG = process.env.CG === '1';
const CONN = { localAddress: '127.0.0.11', remoteAddress: '127.0.0.1', remotePort: 50000 };

interface Call {
  readonly callId: number;
  readonly contextId: number;
  readonly littleEndian: boolean;
  readonly auth: AuthState | undefined;
}

function privacy(authType: number, provider: SecurityProvider, security: AuthState['security']): AuthState {
  return { authContextId: 1, authType, authLevel: AuthLevel.Privacy, provider, security, complete: true, failure: undefined };
}

function contexts(): Call[] {
  let make: () => AuthState | undefined = () => undefined;
  if (KIND === 'kerberos') {
    const key = randomBytes(32);
    const keytab = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seal-diag-')), 'diag.keytab');
    fs.writeFileSync(keytab, encodeKeytab([{ realm: 'DEMO.LOCAL', components: ['cifs', 'sofs'], timestamp: 0, kvno: 2, enctype: EncType.AES256_CTS_HMAC_SHA1_96, key }]), { mode: 0o600 });
    const cred = mintCredential({ serviceKey: key, enctype: EncType.AES256_CTS_HMAC_SHA1_96, kvno: 2, sname: ['cifs', 'sofs'], realm: 'DEMO.LOCAL', client: 'diag' });
    const krb = createKerberosProvider({ keytab, replayCacheSize: N + 10 });
    make = () => {
      const server = krb.newContext(CONN, { authLevel: AuthLevel.Privacy, headerSigning: true });
      const init = new KrbInitiatorContext(cred, { confidentiality: true });
      if (!server.accept(init.apRep(server.accept(init.apReq()).token!)).complete) throw new Error('Kerberos context did not complete');
      return privacy(16, krb, server);
    };
  } else if (KIND === 'ntlmssp') {
    const ntlm = createNtlmsspProvider({
      accounts: new MemoryAccountSource([{ domain: 'DEMO', user: 'demo', password: 'demo-password' }]), netbiosComputerName: 'SOFS', netbiosDomainName: 'DEMO',
    });
    make = () => {
      const server = ntlm.newContext(CONN, { authLevel: AuthLevel.Privacy, headerSigning: true });
      const client = new TestNtlmClient({ user: 'demo', domain: 'DEMO', password: 'demo-password', withMic: true, flags: 0x62088215 | 0x20 });
      if (!server.accept(client.authenticate(server.accept(client.negotiate()).token!)).complete) throw new Error('NTLMSSP context did not complete');
      return privacy(10, ntlm, server);
    };
  } else if (KIND !== 'none') throw new Error(`KIND ${KIND}: none, kerberos or ntlmssp`);
  return Array.from({ length: N }, (_, i) => ({ callId: i + 3, contextId: 0, littleEndian: true, auth: make() }));
}

const calls = contexts();
if (process.env.MEM) {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const per = (b: number) => `${(b / N).toFixed(0)} B`;
  console.log(`${KIND}, per context (run with --expose-gc): rss ${per(m.rss)}, heap used ${per(m.heapUsed)}, external ${per(m.external)}, ArrayBuffers ${per(m.arrayBuffers)}`);
}
let sink = 0;
function round(): void {
  for (let i = 0; i < N; i++) {
    const frags = buildResponseFragments(calls[ONE ? 0 : i], encodeWitnessrAsyncNotifyOut(asyncNotifySample(1)), 5840);
    sink += frags[0].length;
  }
}
const callgrind = (on: boolean) => execFileSync('callgrind_control', ['-i', on ? 'on' : 'off', String(process.pid)]);
if (CG) {
  for (let r = 0; r < WARM; r++) round();
  callgrind(true);
}
for (let r = 0; r < ROUNDS; r++) {
  const t0 = performance.now();
  round();
  if (!CG) console.log(`${KIND}${ONE ? ' (one context)' : ''} N=${N} round ${r + 1}: ${(((performance.now() - t0) * 1000) / N).toFixed(2)} µs a response`);
}
if (CG) callgrind(false);
if (sink === 0) console.log('no responses built');
