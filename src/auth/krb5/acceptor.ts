/**
 * The Kerberos acceptor's checks on an AP-REQ and the DCE-style three-leg exchange (RFC 4120
 * §3.2.3, RFC 4121 §4.1, MS-KILE 3.4.5.1): the ticket decrypted with a service key, its times
 * and the authenticator's clock skew, the replay cache, the GSS checksum and its flags, the
 * PAC's server signature; then an AP-REP with a fresh acceptor subkey and sequence number, and
 * the initiator's closing AP-REP. Refusals are AuthRejected with reason 9 and one log line
 * naming the client address and, once known, the principal.
 */
import { randomBytes } from 'node:crypto';
import { AuthLevel, AuthRejected, type ConnectionInfo, type Identity } from '../../rpc/security';
import { DerError } from '../der';
import { type AuthLogger, nullLogger } from '../logger';
import { clientOf } from '../ntlmssp';
import { CfxContext, TokenError } from './cfx';
import { ChecksumType, EncType, enctype, hasEnctype } from './enctypes';
import { GssFlag, parseGssChecksum } from './gss-checksum';
import type { ServiceKeys } from './keytab';
import {
  AdType, ApOptions, type ApReq, type Authenticator, type EncTicketPart, decodeApRep, decodeApReq, decodeAuthenticator,
  decodeEncApRepPart, decodeEncTicketPart, decodeEtypeList, encodeApRep, encodeEncApRepPart, findAuthorizationData,
} from './messages';
import { PacError, clientInfoName, parseLogonInfo, verifyServerSignature } from './pac';
import { ReplayCache } from './replay-cache';
import { KeyUsage, KrbCryptoError } from './rfc3961';

export interface AcceptorConfig {
  readonly keys: () => ServiceKeys;
  readonly clockSkewMs: number;
  readonly now: () => number;
  readonly replay: ReplayCache;
  /** Lower-cased principals and upper-cased SIDs; undefined: everyone with a valid ticket. */
  readonly allowed?: ReadonlySet<string>;
  readonly logger?: AuthLogger;
  /** Told of every refusal (metrics): 'kerberos: refused', 'kerberos: malformed token' or 'kerberos: bad ticket or token'. */
  readonly onRefused?: (reason: string) => void;
  /** Test hook: subkeys, sequence numbers and confounders. */
  readonly randomBytes?: (n: number) => Buffer;
}

/** AES subkeys first: per-message tokens are implemented for AES only. */
const SUBKEY_PREFERENCE = [EncType.AES256_CTS_HMAC_SHA1_96, EncType.AES128_CTS_HMAC_SHA1_96];

/** An AP-REQ was accepted; the exchange waits for the initiator's AP-REP (DCE style). */
export interface PendingExchange {
  readonly apRep: Buffer;
  /** The client principal, for log lines about the later legs. */
  readonly principal: string;
  /** Check the initiator's AP-REP (3rd leg) and return the established session. */
  finish(token: Buffer): Krb5Session;
}

export interface Krb5Session {
  readonly identity: Identity;
  readonly protection: CfxContext;
}

/** Strip an RFC 2743 §3.1 InitialContextToken wrapper (0x60, KRB5 OID, TOK_ID 01 00) if present. */
export function unwrapGssToken(token: Buffer, tokId: number): Buffer {
  if (token.length < 2 || token[0] !== 0x60) return token;
  let p = 1;
  let len = token[p++];
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || p + n > token.length) throw new DerError('bad GSS token length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + token[p++];
  }
  if (p + len !== token.length) throw new DerError('GSS token length disagrees with its size');
  if (token[p] !== 0x06 || p + 2 + token[p + 1] + 2 > token.length) throw new DerError('GSS token without a mechanism OID');
  p += 2 + token[p + 1];
  if (token.readUInt16BE(p) !== tokId) throw new DerError(`GSS token id 0x${token.readUInt16BE(p).toString(16)}`);
  return token.subarray(p + 2);
}

export class Krb5Acceptor {
  private readonly log: AuthLogger;
  private readonly random: (n: number) => Buffer;

  constructor(private readonly cfg: AcceptorConfig) {
    this.log = cfg.logger ?? nullLogger;
    this.random = cfg.randomBytes ?? randomBytes;
  }

  /** Bind leg: an AP-REQ (raw DCE style, or GSS-framed) in, the AP-REP out. Throws AuthRejected. */
  accept(token: Buffer, conn: ConnectionInfo, level: AuthLevel, headerSigning: boolean): PendingExchange {
    let principal: string | undefined;
    try {
      const req = decodeApReq(unwrapGssToken(token, 0x0100));
      const { ticket, key } = this.decryptTicket(req);
      principal = `${ticket.cname.nameString.join('/')}@${ticket.crealm}`;
      const auth = this.checkAuthenticator(req, ticket, level);
      const identity = this.identityOf(ticket, key, principal);
      this.checkAllowed(identity);
      return this.reply(req, ticket, auth, identity, headerSigning);
    } catch (e) {
      throw this.refuse(e, conn, principal);
    }
  }

  private decryptTicket(req: ApReq): { ticket: EncTicketPart; key: { enctype: number; key: Buffer } } {
    const t = req.ticket;
    if (req.apOptions & ApOptions.USE_SESSION_KEY) throw new AuthRejected('user-to-user tickets are not supported', 9);
    const enc = t.encPart;
    if (!hasEnctype(enc.etype)) throw new AuthRejected(`ticket enctype ${enc.etype} is not supported`, 9);
    const sname = `${t.sname.nameString.join('/')}@${t.realm}`;
    const candidates = this.cfg.keys().candidates(enc.etype, enc.kvno, t.sname.nameString, t.realm);
    if (candidates.length === 0) {
      throw new AuthRejected(`no key for ticket to ${sname} (enctype ${enc.etype}, kvno ${enc.kvno ?? 'none'}): wrong keytab or key version`, 9);
    }
    for (const c of candidates) {
      try {
        const plain = enctype(enc.etype).decrypt(c.key, KeyUsage.TICKET, enc.cipher);
        return { ticket: decodeEncTicketPart(plain), key: { enctype: c.enctype, key: c.key } };
      } catch (e) {
        if (!(e instanceof KrbCryptoError)) throw e;
      }
    }
    throw new AuthRejected(`ticket to ${sname} does not decrypt with the keytab's key (kvno ${enc.kvno ?? 'none'}): wrong keytab, or a tampered ticket`, 9);
  }

  private checkAuthenticator(req: ApReq, ticket: EncTicketPart, level: AuthLevel): Authenticator {
    const now = this.cfg.now();
    const skew = this.cfg.clockSkewMs;
    if ((ticket.starttime ?? ticket.authtime) - skew > now) throw new AuthRejected('ticket not yet valid', 9);
    if (ticket.endtime + skew < now) throw new AuthRejected(`ticket expired at ${new Date(ticket.endtime).toISOString()}`, 9);
    const sk = ticket.key;
    if (req.authenticator.etype !== sk.keytype) throw new AuthRejected('authenticator enctype differs from the session key', 9);
    const a = decodeAuthenticator(enctype(sk.keytype).decrypt(sk.keyvalue, KeyUsage.AP_REQ_AUTHENTICATOR, req.authenticator.cipher));
    if (a.crealm !== ticket.crealm || a.cname.nameString.join('/') !== ticket.cname.nameString.join('/')) {
      throw new AuthRejected('authenticator names another client than the ticket', 9);
    }
    if (Math.abs(a.ctime - now) > skew) {
      throw new AuthRejected(`clock skew too great (authenticator ${new Date(a.ctime).toISOString()}, server ${new Date(now).toISOString()})`, 9);
    }
    const key = `${a.cname.nameString.join('/')}@${a.crealm}|${a.ctime}|${a.cusec}|${req.ticket.sname.nameString.join('/')}`;
    const replay = this.cfg.replay;
    const evicted = replay.evictedEarly;
    if (!replay.checkAndAdd(key, a.ctime + skew + 1000, now)) throw new AuthRejected('replayed authenticator', 9);
    if (replay.evictedEarly > evicted && replay.evictedEarly % 1000 === 1) {
      this.log.warn({ evictedEarly: replay.evictedEarly, size: replay.size }, 'Kerberos replay cache full: entries dropped inside the skew window (raise replayCacheSize)');
    }
    if (!a.cksum || a.cksum.cksumtype !== ChecksumType.GSSAPI) throw new AuthRejected('authenticator without a GSS-API checksum (0x8003)', 9);
    const flags = parseGssChecksum(a.cksum.checksum).flags;
    if (!(flags & GssFlag.DCE_STYLE)) throw new AuthRejected('GSS flags without DCE_STYLE', 9);
    if (!(req.apOptions & ApOptions.MUTUAL_REQUIRED) || !(flags & GssFlag.MUTUAL)) throw new AuthRejected('DCE style needs mutual authentication', 9);
    if (level >= AuthLevel.Packet && !(flags & GssFlag.INTEG)) throw new AuthRejected('integrity level without GSS_C_INTEG_FLAG', 9);
    if (level === AuthLevel.Privacy && !(flags & GssFlag.CONF)) throw new AuthRejected('privacy level without GSS_C_CONF_FLAG', 9);
    return a;
  }

  private identityOf(ticket: EncTicketPart, key: { enctype: number; key: Buffer }, principal: string): Identity {
    const pacs = findAuthorizationData(ticket.authorizationData, AdType.WIN2K_PAC);
    if (pacs.length > 1) throw new AuthRejected('ticket with more than one PAC', 9);
    const user = ticket.cname.nameString.join('/');
    if (pacs.length === 0) return { domain: ticket.crealm, user, anonymous: false, principal };
    verifyServerSignature(pacs[0], key.key, key.enctype);
    const pacName = clientInfoName(pacs[0]);
    if (pacName.toLowerCase() !== user.toLowerCase()) throw new AuthRejected(`PAC issued for ${pacName}, ticket for ${user}`, 9);
    const info = parseLogonInfo(pacs[0]);
    return {
      domain: info.logonDomainName || ticket.crealm,
      user: info.effectiveName || user,
      anonymous: false,
      principal,
      sids: [info.userSid, ...info.groupSids],
    };
  }

  private checkAllowed(id: Identity): void {
    const allowed = this.cfg.allowed;
    if (!allowed) return;
    if (allowed.has(id.principal!.toLowerCase())) return;
    if (id.sids?.some((s) => allowed.has(s.toUpperCase()))) return;
    throw new AuthRejected(`${id.principal} is not in allowedPrincipals`, 9);
  }

  private reply(req: ApReq, ticket: EncTicketPart, a: Authenticator, identity: Identity, headerSigning: boolean): PendingExchange {
    const sessionKey = ticket.key;
    const subkeyType = chooseSubkeyType(a);
    const subkey = this.random(enctype(subkeyType).keyLength);
    // 30 bits, as MIT does: some initiators mishandle sequence numbers near 2^32.
    const acceptorSeq = this.random(4).readUInt32BE(0) & 0x3fffffff;
    const encPart = encodeEncApRepPart({ ctime: a.ctime, cusec: a.cusec, subkey: { keytype: subkeyType, keyvalue: subkey }, seqNumber: acceptorSeq });
    const et = enctype(sessionKey.keytype);
    const confounder = this.random(et.confounderLength);
    const apRep = encodeApRep({ etype: sessionKey.keytype, cipher: et.encrypt(sessionKey.keyvalue, KeyUsage.AP_REP_ENCPART, encPart, confounder) });
    const initiatorSeq = a.seqNumber ?? 0;
    return {
      apRep,
      principal: identity.principal!,
      finish: (token: Buffer) => {
        const enc = decodeApRep(token);
        if (enc.etype !== sessionKey.keytype) throw new AuthRejected('initiator AP-REP enctype differs from the session key', 9);
        const part = decodeEncApRepPart(enctype(enc.etype).decrypt(sessionKey.keyvalue, KeyUsage.AP_REP_ENCPART, enc.cipher));
        if (part.ctime !== a.ctime || part.cusec !== a.cusec) throw new AuthRejected('initiator AP-REP does not echo the authenticator time', 9);
        if (part.seqNumber !== acceptorSeq) throw new AuthRejected('initiator AP-REP does not echo the acceptor sequence number', 9);
        return { identity, protection: new CfxContext({ key: subkey, enctype: subkeyType, initiatorSeq, acceptorSeq, headerSigning, role: 'acceptor', randomBytes: this.cfg.randomBytes }) };
      },
    };
  }

  /** One log line per refusal; every failure becomes AuthRejected (bind_nak reason 9). */
  refuse(e: unknown, conn: ConnectionInfo, principal?: string): AuthRejected {
    let why: string;
    if (e instanceof AuthRejected) why = e.message;
    else if (e instanceof DerError) why = `malformed Kerberos token: ${e.message}`;
    else if (e instanceof KrbCryptoError || e instanceof PacError || e instanceof TokenError) why = e.message;
    else throw e;
    this.log.warn({ client: clientOf(conn), principal, reason: why }, 'Kerberos authentication refused');
    // A few fixed reasons: the message names principals and times, too many for a metric label.
    this.cfg.onRefused?.(e instanceof AuthRejected ? 'kerberos: refused' : e instanceof DerError ? 'kerberos: malformed token' : 'kerberos: bad ticket or token');
    return e instanceof AuthRejected ? e : new AuthRejected(why, 9);
  }
}

/** RFC 4537: the strongest AES enctype the initiator listed in AD-GSS-API-ETYPE-NEGOTIATION, else the session key's if AES. */
function chooseSubkeyType(a: Authenticator): number {
  const listed: number[] = [];
  for (const d of findAuthorizationData(a.authorizationData, AdType.GSS_API_ETYPE_NEGOTIATION)) listed.push(...decodeEtypeList(d));
  const offered = listed.length ? listed : [a.subkey?.keytype ?? -1];
  for (const e of SUBKEY_PREFERENCE) if (offered.includes(e)) return e;
  throw new AuthRejected(`the initiator offers no AES enctype for the acceptor subkey (${offered.join(', ')})`, 9);
}
