/**
 * A toy security provider to prove the runtime's auth plumbing (legs, sec_trailer, padding,
 * verifiers, sealing) without real crypto in src/rpc: a shared-key HMAC-SHA256 challenge and
 * per-PDU MACs, with an HMAC counter-mode keystream for "privacy". Not a real protocol.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  AuthLevel, AuthRejected, IntegrityError,
  type AcceptResult, type Identity, type SecurityContext, type SecurityProvider,
} from '../../../../src/rpc/security';

export const FAKE_AUTH_TYPE = 0x45;
const SHARED_KEY = Buffer.from('witnessd-test-shared-key');

function hmac(key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function xorStream(key: Buffer, dir: string, seq: number, buf: Buffer): void {
  for (let block = 0, off = 0; off < buf.length; block++, off += 32) {
    const ks = hmac(key, Buffer.from(dir), u32(seq), u32(block));
    for (let i = 0; i < 32 && off + i < buf.length; i++) buf[off + i] ^= ks[i];
  }
}

/** The shared per-direction signing and sealing. */
export class FakeChannel {
  private seq = 0;
  constructor(private readonly key: Buffer, private readonly dir: 'C2S' | 'S2C') {}
  protect(pdu: Buffer, start: number, end: number, level: AuthLevel): Buffer {
    const seq = this.seq++;
    const mac = hmac(this.key, Buffer.from(this.dir), u32(seq), pdu).subarray(0, 16);
    if (level === AuthLevel.Privacy) xorStream(this.key, this.dir, seq, pdu.subarray(start, end));
    return mac;
  }
  unprotect(pdu: Buffer, start: number, end: number, level: AuthLevel, sig: Buffer): void {
    const seq = this.seq++;
    if (level === AuthLevel.Privacy) xorStream(this.key, this.dir, seq, pdu.subarray(start, end));
    const mac = hmac(this.key, Buffer.from(this.dir), u32(seq), pdu).subarray(0, 16);
    if (sig.length !== 16 || !timingSafeEqual(mac, sig)) throw new IntegrityError(`bad MAC for seq ${seq}`);
  }
}

class FakeContext implements SecurityContext {
  identity: Identity | undefined;
  readonly signatureLength = 16;
  private nonce: Buffer | undefined;
  private user = '';
  private mode = '';
  private inbound: FakeChannel | undefined;
  private outbound: FakeChannel | undefined;

  accept(token: Buffer): AcceptResult {
    const [verb, a, b] = token.toString('latin1').split(' ');
    if (verb === 'HELLO' && this.nonce === undefined && this.identity === undefined) {
      if (a === 'reject') throw new AuthRejected('no such user');
      if (a === 'reject8') throw new AuthRejected('mechanism not offered', 8);
      if (a === 'explode') throw new Error('provider bug');
      this.user = a;
      this.mode = b ?? 'three';
      this.nonce = randomBytes(8);
      if (this.mode === 'one') return this.complete(Buffer.from('OK'));
      return { token: Buffer.from(`CHALLENGE ${this.nonce.toString('hex')}`), complete: false };
    }
    if (verb === 'PROOF' && this.nonce && this.identity === undefined) {
      const want = hmac(SHARED_KEY, this.nonce).toString('hex');
      if (a !== want) throw new AuthRejected('wrong proof');
      return this.complete(this.mode === 'alter' ? Buffer.from('OK') : undefined);
    }
    throw new AuthRejected(`unexpected token ${verb}`);
  }

  private complete(token: Buffer | undefined): AcceptResult {
    const key = hmac(SHARED_KEY, Buffer.from('session'), this.nonce!);
    this.inbound = new FakeChannel(key, 'C2S');
    this.outbound = new FakeChannel(key, 'S2C');
    this.identity = { domain: 'TESTDOM', user: this.user, anonymous: false };
    return { token, complete: true };
  }

  /** A user named 'nosign' negotiates neither signing nor sealing, 'noseal' signing only. */
  supportsLevel(level: AuthLevel): boolean {
    if (this.user === 'nosign') return false;
    return !(this.user === 'noseal' && level === AuthLevel.Privacy);
  }

  protect(pdu: Buffer, s: number, e: number, level: AuthLevel): Buffer {
    return this.outbound!.protect(pdu, s, e, level);
  }

  unprotect(pdu: Buffer, s: number, e: number, level: AuthLevel, sig: Buffer): void {
    this.inbound!.unprotect(pdu, s, e, level, sig);
  }
}

export const fakeProvider: SecurityProvider = {
  authType: FAKE_AUTH_TYPE,
  name: 'test-hmac',
  newContext: () => new FakeContext(),
};

/** The client half: tokens for each leg and the per-PDU protection. */
export class FakeClient {
  private nonce: Buffer | undefined;
  out: FakeChannel | undefined;
  in: FakeChannel | undefined;
  constructor(readonly user = 'alice', readonly mode: 'one' | 'three' | 'alter' = 'three') {}
  hello(): Buffer {
    return Buffer.from(`HELLO ${this.user} ${this.mode}`);
  }
  /** Feed the server's token; returns the proof for the next leg (undefined when done). */
  onServerToken(t: Buffer): Buffer | undefined {
    const [verb, hex] = t.toString('latin1').split(' ');
    if (verb === 'CHALLENGE') {
      this.nonce = Buffer.from(hex, 'hex');
      this.keys();
      return Buffer.from(`PROOF ${hmac(SHARED_KEY, this.nonce).toString('hex')}`);
    }
    if (verb === 'OK' && !this.out) {
      // one-leg mode: the nonce is unknown to the client, so one-leg contexts cannot sign.
      return undefined;
    }
    return undefined;
  }
  wrongProof(t: Buffer): Buffer {
    this.onServerToken(t);
    return Buffer.from('PROOF 00');
  }
  private keys() {
    const key = hmac(SHARED_KEY, Buffer.from('session'), this.nonce!);
    this.out = new FakeChannel(key, 'C2S');
    this.in = new FakeChannel(key, 'S2C');
  }
}
