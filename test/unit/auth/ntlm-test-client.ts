/**
 * A minimal NTLMSSP/SPNEGO *client* for driving our acceptor in unit tests. It follows
 * MS-NLMP 3.1.5 / 3.3.2 independently of the server code paths (only the primitives are
 * shared, and those are pinned by the spec vectors in crypto.test.ts).
 */
import { randomBytes } from 'node:crypto';
import {
  NtlmDirection, hmacMd5, ntHash, ntProofStr, ntowfv2FromHash, sealKey, sessionBaseKeyV2, signKey,
} from '../../../src/auth/ntlm-crypto';
import {
  AvId, NegotiateFlags as F, NTLMSSP_SIGNATURE, encodeAvPairs, parseAvPairs,
} from '../../../src/auth/ntlmssp-messages';
import { rc4 } from '../../../src/auth/rc4';

export const SAMBA_NEGOTIATE_FLAGS = 0x62088215; // rpcclient [sign], INTEROP.md §3
export const IMPACKET_NEGOTIATE_FLAGS = 0xe0888235;

export interface ClientOptions {
  user: string;
  domain: string;
  password?: string;
  ntHashValue?: Buffer;
  flags?: number;
  /** Put MsvAvFlags=MIC and a MIC in AUTHENTICATE (as Samba does when the server sends a timestamp). */
  withMic?: boolean;
  /** Send an NTLMv1 response (24 bytes) instead of NTLMv2. */
  anonymous?: boolean;
  workstation?: string;
}

export class TestNtlmClient {
  negotiateMsg!: Buffer;
  challengeMsg!: Buffer;
  authenticateMsg!: Buffer;
  flags = 0;
  exportedSessionKey!: Buffer;
  send!: NtlmDirection;
  recv!: NtlmDirection;

  constructor(readonly o: ClientOptions) {}

  negotiate(): Buffer {
    const m = Buffer.alloc(32);
    NTLMSSP_SIGNATURE.copy(m);
    m.writeUInt32LE(1, 8);
    m.writeUInt32LE((this.o.flags ?? SAMBA_NEGOTIATE_FLAGS) >>> 0, 12);
    this.negotiateMsg = m;
    return m;
  }

  authenticate(challenge: Buffer): Buffer {
    this.challengeMsg = challenge;
    const flags = challenge.readUInt32LE(20);
    this.flags = flags;
    const serverChallenge = challenge.subarray(24, 32);
    const tiLen = challenge.readUInt16LE(40);
    const tiOff = challenge.readUInt32LE(44);
    const targetInfo = challenge.subarray(tiOff, tiOff + tiLen);
    const pairs = parseAvPairs(targetInfo);
    const ts = pairs.find((p) => p.id === AvId.Timestamp)?.value ?? Buffer.alloc(8);
    const clientPairs = pairs.slice();
    if (this.o.withMic) {
      const v = Buffer.alloc(4);
      v.writeUInt32LE(2);
      clientPairs.push({ id: AvId.Flags, value: v });
    }
    let lm: Buffer, nt: Buffer, sessionBaseKey: Buffer;
    if (this.o.anonymous) {
      lm = Buffer.alloc(1);
      nt = Buffer.alloc(0);
      sessionBaseKey = Buffer.alloc(16);
    } else {
      const hash = this.o.ntHashValue ?? ntHash(this.o.password ?? '');
      const key = ntowfv2FromHash(hash, this.o.user, this.o.domain);
      const temp = Buffer.concat([
        Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]), ts, randomBytes(8), Buffer.alloc(4), encodeAvPairs(clientPairs), Buffer.alloc(4),
      ]);
      const proof = ntProofStr(key, serverChallenge, temp);
      nt = Buffer.concat([proof, temp]);
      lm = Buffer.alloc(24);
      sessionBaseKey = sessionBaseKeyV2(key, proof);
    }
    let encryptedKey: Buffer = Buffer.alloc(0);
    this.exportedSessionKey = sessionBaseKey;
    if (flags & F.KEY_EXCH) {
      this.exportedSessionKey = randomBytes(16);
      encryptedKey = rc4(sessionBaseKey, this.exportedSessionKey);
    }
    const u = (s: string) => Buffer.from(s, 'utf16le');
    const fields = [lm, nt, u(this.o.domain), u(this.o.anonymous ? '' : this.o.user), u(this.o.workstation ?? 'CLIENT'), encryptedKey];
    const header = 88; // with VERSION and MIC
    const msg = Buffer.alloc(header + fields.reduce((n, f) => n + f.length, 0));
    NTLMSSP_SIGNATURE.copy(msg);
    msg.writeUInt32LE(3, 8);
    let off = header;
    fields.forEach((f, i) => {
      const at = 12 + i * 8;
      msg.writeUInt16LE(f.length, at);
      msg.writeUInt16LE(f.length, at + 2);
      msg.writeUInt32LE(off, at + 4);
      f.copy(msg, off);
      off += f.length;
    });
    msg.writeUInt32LE(flags >>> 0, 60);
    if (this.o.withMic) {
      hmacMd5(this.exportedSessionKey, this.negotiateMsg, challenge, msg).copy(msg, 72);
    }
    this.authenticateMsg = msg;
    this.send = new NtlmDirection(flags, signKey(this.exportedSessionKey, 'client'), sealKey(flags, this.exportedSessionKey, 'client'));
    this.recv = new NtlmDirection(flags, signKey(this.exportedSessionKey, 'server'), sealKey(flags, this.exportedSessionKey, 'server'));
    return msg;
  }
}
