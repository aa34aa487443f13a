/**
 * NTLMSSP acceptor (MS-NLMP 3.2.5): NEGOTIATE -> CHALLENGE -> AUTHENTICATE, NTLMv2 with
 * extended session security and key exchange; the per-direction signing/sealing state.
 */
import { randomBytes } from 'node:crypto';
import { AuthLevel, AuthRejected, type ConnectionInfo, type Identity } from '../rpc/security';
import type { AccountSource } from './accounts';
import type { AuthLogger } from './logger';
import { nullLogger } from './logger';
import {
  type NtlmChannel, NtlmDirection, NtlmV1Channel, constantTimeEqual, hmacMd5, ntowfv2FromHash, ntProofStr, sealKey,
  sessionBaseKeyV2, signKey,
} from './ntlm-crypto';
import { verifyNtlmV1 } from './ntlm-v1';
import { rc4 } from './rc4';
import {
  AV_FLAG_MIC_PRESENT, AvId, NegotiateFlags as F, TokenError, buildChallenge, encodeAvPairs,
  fileTime, parseAuthenticate, parseAvPairs, parseNegotiate, type AuthenticateMessage,
} from './ntlmssp-messages';

export interface NtlmsspOptions {
  readonly accounts: AccountSource;
  readonly netbiosComputerName: string;
  readonly netbiosDomainName: string;
  /** Defaults: the NetBIOS names in lower case. */
  readonly dnsComputerName?: string;
  readonly dnsDomainName?: string;
  /** Accept the anonymous AUTHENTICATE (null session). Default false. */
  readonly allowAnonymous?: boolean;
  /** Accept NTLMv1 / NTLM2 session responses. Default false (LM is never accepted). */
  readonly allowNtlmV1?: boolean;
  readonly logger?: AuthLogger;
  /** Told of every refused authentication with its reason (metrics; the daemon binds it). */
  readonly onRefused?: (reason: string) => void;
  /** Test hooks: the 8-byte server challenge source and the clock. */
  readonly randomBytes?: (n: number) => Buffer;
  readonly now?: () => Date;
}

type Phase = 'initial' | 'challenged' | 'done' | 'failed';

/**
 * The largest NTLMSSP message the server reads: Windows' NTLM SSP refuses longer ones, so the
 * leg fails (bind_nak 9, 0x5 on alter_context, an unusable context after AUTH3), as Samba 4.22's
 * NTLMSSP_MAX_UPDATE_SIZE (auth/ntlmssp/ntlmssp.c; raw_protocol test_auth_pad_ntlm_2889*).
 */
export const NTLMSSP_MAX_MESSAGE_LENGTH = 2888;

const UNKNOWN_USER_HASH = Buffer.alloc(16);

/** One NTLMSSP exchange on the server side, and the session it yields. */
export class NtlmsspServer {
  private phase: Phase = 'initial';
  private negotiateRaw: Buffer | undefined;
  private challengeRaw: Buffer | undefined;
  private serverChallenge: Buffer | undefined;
  private flags = 0;
  private identityValue: Identity | undefined;
  /** Client-to-server (what we verify/unseal) and server-to-client (what we sign/seal). */
  recv: NtlmChannel | undefined;
  send: NtlmChannel | undefined;
  /** The AUTHENTICATE carried a MIC (MsvAvFlags bit 2): SPNEGO then needs mechListMIC. */
  authenticateHadMic = false;
  private readonly log: AuthLogger;

  constructor(private readonly opts: NtlmsspOptions, private readonly conn: ConnectionInfo) {
    this.log = opts.logger ?? nullLogger;
  }

  get established(): boolean {
    return this.phase === 'done';
  }
  get identity(): Identity | undefined {
    return this.identityValue;
  }
  get negotiatedFlags(): number {
    return this.flags;
  }
  /** True when the session has keys (not anonymous without a key). */
  get canSign(): boolean {
    return this.send !== undefined && this.recv !== undefined;
  }

  /**
   * Whether the session can protect at `level` (MS-RPCE 3.3.1.5.2.2): packet and integrity
   * need NTLMSSP_NEGOTIATE_SIGN, privacy also NTLMSSP_NEGOTIATE_SEAL.
   */
  supportsLevel(level: AuthLevel): boolean {
    if (!this.canSign || !(this.flags & F.SIGN)) return false;
    return level !== AuthLevel.Privacy || (this.flags & F.SEAL) !== 0;
  }

  /** NEGOTIATE in, CHALLENGE out. */
  negotiate(token: Buffer): Buffer {
    if (this.phase !== 'initial') throw this.fail('NTLMSSP NEGOTIATE out of sequence');
    this.checkLength(token);
    let neg;
    try {
      neg = parseNegotiate(token);
    } catch (e) {
      throw this.fail(tokenMessage(e));
    }
    const c = neg.flags;
    if ((c & (F.SIGN | F.SEAL)) && !(c & F.EXTENDED_SESSIONSECURITY) && !this.opts.allowNtlmV1) {
      throw this.fail('client does not offer NTLMSSP extended session security');
    }
    let f = F.NTLM | F.TARGET_INFO | F.TARGET_TYPE_SERVER;
    if (c & F.UNICODE) f |= F.UNICODE;
    else if (c & F.OEM) f |= F.OEM;
    else f |= F.UNICODE;
    if (c & F.REQUEST_TARGET) f |= F.REQUEST_TARGET;
    for (const bit of [F.SIGN, F.SEAL, F.ALWAYS_SIGN, F.IDENTIFY, F.EXTENDED_SESSIONSECURITY,
      F.VERSION, F.NEGOTIATE_128, F.NEGOTIATE_56, F.KEY_EXCH]) {
      if (c & bit) f |= bit;
    }
    this.flags = f >>> 0;
    this.serverChallenge = (this.opts.randomBytes ?? randomBytes)(8);
    const now = (this.opts.now ?? (() => new Date()))();
    const u = (s: string) => Buffer.from(s, 'utf16le');
    const targetInfo = encodeAvPairs([
      { id: AvId.NbDomainName, value: u(this.opts.netbiosDomainName) },
      { id: AvId.NbComputerName, value: u(this.opts.netbiosComputerName) },
      { id: AvId.DnsDomainName, value: u(this.opts.dnsDomainName ?? this.opts.netbiosDomainName.toLowerCase()) },
      { id: AvId.DnsComputerName, value: u(this.opts.dnsComputerName ?? this.opts.netbiosComputerName.toLowerCase()) },
      { id: AvId.Timestamp, value: fileTime(now) },
    ]);
    this.negotiateRaw = neg.raw;
    this.challengeRaw = buildChallenge({
      flags: this.flags,
      targetName: this.opts.netbiosComputerName,
      serverChallenge: this.serverChallenge,
      targetInfo,
    });
    this.phase = 'challenged';
    return this.challengeRaw;
  }

  /** AUTHENTICATE in; on success the identity and keys are set. Throws AuthRejected. */
  authenticate(token: Buffer): void {
    if (this.phase !== 'challenged') throw this.fail('NTLMSSP AUTHENTICATE out of sequence');
    this.checkLength(token);
    let msg: AuthenticateMessage;
    try {
      msg = parseAuthenticate(token, (this.flags & F.UNICODE) !== 0);
    } catch (e) {
      throw this.fail(tokenMessage(e));
    }
    // The client's AUTHENTICATE flags must not ask for more than we offered (MS-NLMP 3.2.5.1.2).
    const flags = (this.flags & (msg.flags | F.NTLM | F.TARGET_INFO | F.TARGET_TYPE_SERVER | F.REQUEST_TARGET)) >>> 0;
    const who = { user: msg.user, domain: msg.domain, workstation: msg.workstation, client: clientOf(this.conn) };

    const anonymous = msg.user === '' && msg.ntResponse.length === 0 &&
      (msg.lmResponse.length === 0 || (msg.lmResponse.length === 1 && msg.lmResponse[0] === 0));
    if (anonymous) {
      if (!this.opts.allowAnonymous) {
        this.refused(who, 'anonymous not allowed');
        throw this.fail('anonymous authentication is not allowed');
      }
      // Anonymous: SessionBaseKey = Z(16) (MS-NLMP 3.2.5.1.2); keys exist but prove nothing.
      this.finish(msg, flags, Buffer.alloc(16), { domain: '', user: '', anonymous: true });
      this.log.info({ client: who.client, workstation: msg.workstation }, 'NTLMSSP anonymous session');
      return;
    }

    if (msg.user === '') {
      this.refused(who, 'empty user name');
      throw this.fail('empty user name');
    }
    const account = this.opts.accounts.lookup(msg.user, msg.domain);
    if (!account) {
      // Same work as for a known user, so response time does not tell which names exist.
      if (msg.ntResponse.length > 24) this.verifyV2(msg, UNKNOWN_USER_HASH);
      this.refused(who, 'unknown user');
      throw this.fail('logon failure');
    }

    let sessionBaseKey: Buffer | undefined;
    let v1 = false;
    if (msg.ntResponse.length > 24) {
      sessionBaseKey = this.verifyV2(msg, account.ntHash);
    } else if (msg.ntResponse.length === 24) {
      if (!this.opts.allowNtlmV1) {
        this.refused(who, 'NTLMv1 refused');
        throw this.fail('NTLMv1 is not allowed');
      }
      sessionBaseKey = verifyNtlmV1(account.ntHash, this.serverChallenge!, msg.ntResponse, msg.lmResponse, flags);
      v1 = true;
    } else {
      // LM-only or empty NT response with a user name: LM is never accepted.
      this.refused(who, 'LM or empty NT response');
      throw this.fail('LM authentication is not allowed');
    }
    if (!sessionBaseKey) {
      this.refused(who, 'wrong password');
      throw this.fail('logon failure');
    }
    const identity: Identity = {
      domain: account.domain ?? this.opts.netbiosDomainName,
      user: account.user,
      anonymous: false,
    };
    this.finish(msg, flags, sessionBaseKey, identity);
    this.log.info({ client: who.client, user: account.user, domain: identity.domain, workstation: msg.workstation,
      ntlm: v1 ? 'v1' : 'v2', mic: this.authenticateHadMic }, 'NTLMSSP authenticated');
  }

  /** Log a refused AUTHENTICATE and tell the refusal hook why. */
  private refused(who: object, reason: string): void {
    this.log.warn({ ...who, reason }, 'NTLMSSP authentication refused');
    this.opts.onRefused?.(reason);
  }

  /** Returns SessionBaseKey when the NTProofStr matches under one of the domain spellings. */
  private verifyV2(msg: AuthenticateMessage, hash: Buffer): Buffer | undefined {
    const proof = msg.ntResponse.subarray(0, 16);
    const temp = msg.ntResponse.subarray(16);
    if (temp.length < 28 || temp[0] !== 1 || temp[1] !== 1) return undefined;
    let avPairs;
    try {
      avPairs = parseAvPairs(temp.subarray(28));
    } catch {
      return undefined;
    }
    const domains = [...new Set([msg.domain, msg.domain.toUpperCase(), ''])];
    for (const d of domains) {
      const key = ntowfv2FromHash(hash, msg.user, d);
      const expect = ntProofStr(key, this.serverChallenge!, temp);
      if (constantTimeEqual(expect, proof)) {
        const flagsPair = avPairs.find((p) => p.id === AvId.Flags);
        if (flagsPair && flagsPair.value.length >= 4 && (flagsPair.value.readUInt32LE(0) & AV_FLAG_MIC_PRESENT)) {
          this.authenticateHadMic = true;
        }
        return sessionBaseKeyV2(key, proof);
      }
    }
    return undefined;
  }

  private finish(msg: AuthenticateMessage, flags: number, keyExchangeKey: Buffer, identity: Identity): void {
    let exported = keyExchangeKey;
    if (flags & F.KEY_EXCH) {
      if (msg.encryptedRandomSessionKey.length !== 16) {
        this.refused({ client: clientOf(this.conn), user: msg.user, domain: msg.domain }, 'no session key for key exchange');
        throw this.fail('key exchange negotiated but no 16-byte EncryptedRandomSessionKey');
      }
      exported = rc4(keyExchangeKey, msg.encryptedRandomSessionKey);
    }
    if (this.authenticateHadMic) {
      if (msg.micOffset === undefined) throw this.fail('MsvAvFlags announces a MIC but the message has none');
      const zeroed = Buffer.from(msg.raw);
      const mic = Buffer.from(zeroed.subarray(msg.micOffset, msg.micOffset + 16));
      zeroed.fill(0, msg.micOffset, msg.micOffset + 16);
      const expect = hmacMd5(exported, this.negotiateRaw!, this.challengeRaw!, zeroed);
      if (!constantTimeEqual(expect, mic)) {
        this.refused({ client: clientOf(this.conn), user: msg.user, domain: msg.domain }, 'bad MIC');
        throw this.fail('AUTHENTICATE MIC does not verify');
      }
    }
    this.flags = flags;
    if (flags & F.EXTENDED_SESSIONSECURITY) this.createDirections(exported);
    // Without ESS (anonymous, or NTLMv1 when allowed): MS-NLMP 3.4.4.1, the key itself for RC4
    // (weakened only with LM_KEY, which we never negotiate).
    else this.send = this.recv = new NtlmV1Channel(sealKey(flags, exported, 'server'));
    this.identityValue = identity;
    this.phase = 'done';
  }

  private createDirections(exported: Buffer): void {
    const flags = this.flags;
    this.recv = new NtlmDirection(flags, signKey(exported, 'client'), sealKey(flags, exported, 'client'));
    this.send = new NtlmDirection(flags, signKey(exported, 'server'), sealKey(flags, exported, 'server'));
  }

  /** MS-SPNG 3.3.5.1: both RC4 handles start over after the mechListMIC exchange. */
  resetRc4(): void {
    this.send?.resetRc4();
    this.recv?.resetRc4();
  }

  /** Sign (and with `seal` encrypt [start, end) of) an outgoing message. */
  signPdu(pdu: Uint8Array, seal: boolean, start = 0, end = 0): Buffer {
    if (!this.send) throw new Error('NTLMSSP session has no keys');
    return this.send.signPdu(pdu, seal, start, end);
  }

  /** signPdu over pdu[0, pduEnd), the signature written to out[at, at + 16). */
  signInto(pdu: Uint8Array, pduEnd: number, seal: boolean, start: number, end: number, out: Buffer, at: number): void {
    if (!this.send) throw new Error('NTLMSSP session has no keys');
    this.send.signInto(pdu, pduEnd, seal, start, end, out, at);
  }

  /** Verify (and with `seal` first decrypt [start, end) of) an incoming message. */
  verifyPdu(pdu: Uint8Array, signature: Uint8Array, seal: boolean, start = 0, end = 0): boolean {
    if (!this.recv) return false;
    return this.recv.verifyPdu(pdu, signature, seal, start, end);
  }

  private checkLength(token: Buffer): void {
    if (token.length > NTLMSSP_MAX_MESSAGE_LENGTH) throw this.fail(`NTLMSSP message of ${token.length} bytes (at most ${NTLMSSP_MAX_MESSAGE_LENGTH})`);
  }

  private fail(message: string): AuthRejected {
    this.phase = 'failed';
    return new AuthRejected(message, 9);
  }
}

function tokenMessage(e: unknown): string {
  return e instanceof TokenError ? `malformed NTLMSSP token: ${e.message}` : `NTLMSSP: ${(e as Error).message}`;
}

export function clientOf(conn: ConnectionInfo): string {
  return conn.remoteAddress.includes(':') ? `[${conn.remoteAddress}]:${conn.remotePort}` : `${conn.remoteAddress}:${conn.remotePort}`;
}
