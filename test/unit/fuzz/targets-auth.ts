/**
 * Fuzz targets for the security tokens: the NTLMSSP acceptor and SPNEGO acceptor, each driven
 * to the phase the first selector byte names, with a fixed server challenge and clock so a
 * seed AUTHENTICATE really verifies and mutations reach the MIC, key exchange and signing code.
 */
import { MemoryAccountSource } from '../../../src/auth/accounts';
import { TokenError, parseAvPairs, parseAuthenticate, parseNegotiate } from '../../../src/auth/ntlmssp-messages';
import { NtlmsspSecurityContext } from '../../../src/auth/ntlmssp-context';
import { SpnegoSecurityContext } from '../../../src/auth/spnego';
import { DerError } from '../../../src/auth/der';
import { OID, encodeNegTokenInit, encodeNegTokenResp, parseNegotiationToken } from '../../../src/auth/spnego-token';
import type { NtlmsspOptions } from '../../../src/auth/ntlmssp';
import { AuthLevel, AuthRejected, IntegrityError } from '../../../src/rpc/security';
import { IMPACKET_NEGOTIATE_FLAGS, SAMBA_NEGOTIATE_FLAGS, TestNtlmClient } from '../auth/ntlm-test-client';
import { byteMutate, int, type FuzzTarget, type Rng } from './engine';

export const FUZZ_USER = { user: 'fuzzer', domain: 'FUZZ', password: 'fuzz-secret-Pa55' };
const CONN = { localAddress: '127.0.0.11', remoteAddress: '127.0.0.1', remotePort: 40000 };
const FIXED_NOW = new Date('2026-01-01T00:00:00Z');

// One account source for every run: building one hashes the password (MD4), which would
// otherwise dominate the cost of an input.
let accounts: MemoryAccountSource | undefined;

export function fuzzNtlmOptions(over: Partial<NtlmsspOptions> = {}): NtlmsspOptions {
  return {
    accounts: (accounts ??= new MemoryAccountSource([FUZZ_USER])),
    netbiosComputerName: 'SOFS',
    netbiosDomainName: 'FUZZ',
    randomBytes: (n) => Buffer.alloc(n, 0x5a),
    now: () => FIXED_NOW,
    ...over,
  };
}

const SRC = /\/src\/(auth|rpc)\//;
const withSelector = (sel: number, token: Buffer): Buffer => Buffer.concat([Buffer.from([sel]), token]);

/** Mutate the token after the selector; sometimes flip the selector to another phase. */
function tokenMutate(input: Buffer, r: Rng, corpus: readonly Buffer[], max: number, phases: number): Buffer {
  if (input.length === 0) return Buffer.from([int(r, phases)]);
  const sel = r() < 0.1 ? int(r, 256) : input[0];
  const toks = corpus.map((c) => c.subarray(1));
  return withSelector(sel, byteMutate(input.subarray(1), r, toks, max - 1));
}

/** NTLMSSP message fields at their (Len, MaxLen, Offset) positions: mutate a field header. */
function ntlmFieldMutate(input: Buffer, r: Rng): Buffer | undefined {
  const tok = Buffer.from(input.subarray(1));
  if (tok.length < 64) return undefined;
  const at = 12 + 8 * int(r, 6);
  const what = int(r, 3);
  if (what === 0) tok.writeUInt16LE(int(r, 0x10000), at);
  else if (what === 1) tok.writeUInt32LE([0, tok.length, tok.length - 1, 0xffffffff, 64, 88, int(r, tok.length + 8)][int(r, 7)] >>> 0, at + 4);
  else tok.writeUInt32LE((tok.readUInt32LE(60) ^ (1 << int(r, 32))) >>> 0, 60); // NegotiateFlags
  return withSelector(input[0], tok);
}

export function ntlmsspTarget(): FuzzTarget {
  const negotiates = new Map<number, Buffer>();
  const negotiate = (flags: number): Buffer => {
    let m = negotiates.get(flags);
    if (!m) negotiates.set(flags, (m = new TestNtlmClient({ ...FUZZ_USER, flags }).negotiate()));
    return m;
  };
  const seeds = (): Buffer[] => {
    const out: Buffer[] = [];
    for (const flags of [SAMBA_NEGOTIATE_FLAGS, IMPACKET_NEGOTIATE_FLAGS]) {
      for (const variant of [{}, { withMic: true }, { anonymous: true }, { password: 'wrong' }]) {
        const c = new TestNtlmClient({ ...FUZZ_USER, flags, ...variant });
        const ctx = new NtlmsspSecurityContext(fuzzNtlmOptions({ allowAnonymous: true }), CONN);
        const challenge = ctx.accept(c.negotiate()).token!;
        out.push(withSelector(flags === SAMBA_NEGOTIATE_FLAGS ? 1 : 5, c.authenticate(challenge)));
      }
      out.push(withSelector(0, negotiate(flags)));
    }
    out.push(withSelector(2, Buffer.from('0200080046005500000000000000', 'hex')));
    return out;
  };
  return {
    name: 'ntlmssp',
    maxLength: 1024,
    coverage: SRC,
    seeds,
    mutate: (input, r, corpus) => (r() < 0.3 ? ntlmFieldMutate(input, r) : undefined) ?? tokenMutate(input, r, corpus, 1024, 4),
    allowed: (e) => e instanceof AuthRejected || e instanceof TokenError || e instanceof IntegrityError,
    run(input) {
      if (input.length === 0) return;
      const sel = input[0];
      const token = input.subarray(1);
      const opts = fuzzNtlmOptions({ allowAnonymous: (sel & 8) !== 0, allowNtlmV1: (sel & 16) !== 0 });
      switch (sel & 3) {
        case 0: {
          new NtlmsspSecurityContext(opts, CONN).accept(token);
          return;
        }
        case 1: {
          const ctx = new NtlmsspSecurityContext(opts, CONN);
          ctx.accept(negotiate((sel & 4) ? IMPACKET_NEGOTIATE_FLAGS : SAMBA_NEGOTIATE_FLAGS));
          ctx.accept(token);
          if (ctx.ntlmssp.canSign) {
            // An established session must sign, seal and refuse a bad verifier cleanly.
            const pdu = Buffer.alloc(64, 7);
            ctx.protect(pdu, 24, 56, AuthLevel.Privacy);
            ctx.unprotect(pdu, 24, 56, AuthLevel.Integrity, token.subarray(0, 16));
          }
          return;
        }
        case 2:
          parseAvPairs(token);
          return;
        default:
          parseNegotiate(token);
          parseAuthenticate(token, (sel & 4) !== 0);
      }
    },
  };
}

export function spnegoTarget(): FuzzTarget {
  const seeds = (): Buffer[] => {
    const out: Buffer[] = [];
    const c = new TestNtlmClient({ ...FUZZ_USER, withMic: true });
    out.push(withSelector(0, encodeNegTokenInit([OID.NTLMSSP], c.negotiate())));
    out.push(withSelector(0, encodeNegTokenInit([OID.KERBEROS, OID.NTLMSSP], Buffer.from('kerberos AP-REQ'))));
    out.push(withSelector(0, c.negotiate()));
    // Phase 1: after NegTokenInit with an NTLMSSP NEGOTIATE; the AUTHENTICATE that verifies.
    const ctx = new SpnegoSecurityContext(fuzzNtlmOptions(), CONN);
    const c1 = new TestNtlmClient({ ...FUZZ_USER, withMic: false });
    const r1 = parseNegotiationToken(ctx.accept(encodeNegTokenInit([OID.NTLMSSP], c1.negotiate())).token!);
    const challenge = r1.kind === 'resp' ? r1.responseToken! : Buffer.alloc(0);
    out.push(withSelector(1, encodeNegTokenResp({ responseToken: c1.authenticate(challenge) })));
    out.push(withSelector(1, encodeNegTokenResp({ responseToken: c1.authenticate(challenge), mechListMIC: Buffer.alloc(16, 1) })));
    // Phase 2: after a downgrade the client sends its NEGOTIATE in a NegTokenResp.
    out.push(withSelector(2, encodeNegTokenResp({ responseToken: new TestNtlmClient(FUZZ_USER).negotiate() })));
    out.push(withSelector(3, encodeNegTokenResp({ negState: 1, supportedMech: OID.NTLMSSP, mechListMIC: Buffer.alloc(16) })));
    return out;
  };
  const initToken = encodeNegTokenInit([OID.NTLMSSP], new TestNtlmClient(FUZZ_USER).negotiate());
  const downgradeToken = encodeNegTokenInit([OID.KERBEROS, OID.NTLMSSP]);
  return {
    name: 'spnego',
    maxLength: 1024,
    coverage: SRC,
    seeds,
    mutate: (input, r, corpus) => tokenMutate(input, r, corpus, 1024, 4),
    allowed: (e) => e instanceof AuthRejected || e instanceof DerError,
    run(input) {
      if (input.length === 0) return;
      const sel = input[0];
      const token = input.subarray(1);
      const ctx = new SpnegoSecurityContext(fuzzNtlmOptions({ allowAnonymous: (sel & 8) !== 0 }), CONN);
      switch (sel & 3) {
        case 0:
          ctx.accept(token);
          return;
        case 1:
          ctx.accept(initToken);
          ctx.accept(token);
          if (sel & 4) ctx.accept(token); // a second leg on a finished or failed context
          return;
        case 2:
          ctx.accept(downgradeToken);
          ctx.accept(token);
          return;
        default:
          parseNegotiationToken(token);
      }
    },
  };
}
