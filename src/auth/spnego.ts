/**
 * The DCE/RPC security context for auth type 9 (RPC_C_AUTHN_GSS_NEGOTIATE): SPNEGO
 * (RFC 4178, MS-SPNG) with Kerberos (MS-KRB5 and KRB5 OIDs) and/or NTLMSSP. The first
 * mechanism of the client's list that this server has is chosen.
 * NTLMSSP: the bind carries NegTokenInit (usually with an optimistic NEGOTIATE), bind_ack the
 * CHALLENGE, alter_context AUTHENTICATE and the mechListMIC, alter_context_resp completes.
 * Kerberos (DCE style, KERBEROS.md §2): the bind carries the AP-REQ, bind_ack the AP-REP,
 * alter_context the client's AP-REP and its mechListMIC, alter_context_resp ours.
 */
import {
  AuthLevel, AuthRejected, AuthType, type AcceptResult, type ConnectionInfo, type ContextParams, type Identity,
  type SecurityContext, type SecurityProvider,
} from '../rpc/security';
import type { Krb5Acceptor, Krb5Session, PendingExchange } from './krb5/acceptor';
import { DEFAULT_PARAMS, protectIntoWith, protectWith, unprotectWith, verifierLength } from './krb5/context';
import { TokenError } from './krb5/cfx';
import { DerError } from './der';
import { NtlmsspServer, clientOf, type NtlmsspOptions } from './ntlmssp';
import { nullLogger, type AuthLogger } from './logger';
import { serverPrincipalName, validateOptions } from './ntlmssp-context';
import { isNtlmssp } from './ntlmssp-messages';
import { NTLMSSP_SIGNATURE_LENGTH, protectPdu, protectPduInto, unprotectPdu } from './pdu-protection';
import {
  NegState, OID, encodeNegTokenResp, parseNegotiationToken, type NegTokenResp, type NegotiationToken,
} from './spnego-token';

type Phase = 'initial' | 'awaitNegotiate' | 'challenged' | 'awaitMic' | 'done' | 'failed' | 'raw'
  | 'krbAwaitApReq' | 'krbAwaitApRep' | 'krbDone';

const KRB5_OIDS: readonly string[] = [OID.MS_KERBEROS, OID.KERBEROS];

/** The mechanisms one SPNEGO server offers: NTLMSSP (its options) and/or Kerberos (its acceptor). */
export interface SpnegoMechs {
  readonly kerberos?: Krb5Acceptor;
  readonly params?: ContextParams;
}

export class SpnegoSecurityContext implements SecurityContext {
  private readonly ntlmServer: NtlmsspServer | undefined;
  private phase: Phase = 'initial';
  private mechTypesDer: Buffer | undefined;
  /** The chosen mechanism was not the client's first choice: MS-SPNG requires the mechListMIC then. */
  private downgraded = false;
  private readonly kerberos: Krb5Acceptor | undefined;
  private readonly params: ContextParams;
  private krbPending: PendingExchange | undefined;
  private krbSession: Krb5Session | undefined;

  private readonly log: AuthLogger;
  private readonly onRefused: ((reason: string) => void) | undefined;

  constructor(opts: NtlmsspOptions | undefined, private readonly conn: ConnectionInfo, mechs: SpnegoMechs = {}) {
    this.ntlmServer = opts ? new NtlmsspServer(opts, conn) : undefined;
    this.kerberos = mechs.kerberos;
    this.params = mechs.params ?? DEFAULT_PARAMS;
    this.log = opts?.logger ?? nullLogger;
    this.onRefused = opts?.onRefused;
  }

  get signatureLength(): number {
    return this.kerberos ? (this.krbSession || !this.ntlmServer ? verifierLength(this.params.authLevel) : NTLMSSP_SIGNATURE_LENGTH) : NTLMSSP_SIGNATURE_LENGTH;
  }

  get identity(): Identity | undefined {
    if (this.phase === 'krbDone') return this.krbSession?.identity;
    return (this.phase === 'done' || this.phase === 'raw') ? this.ntlmServer?.identity : undefined;
  }

  get ntlmssp(): NtlmsspServer {
    if (!this.ntlmServer) throw new Error('SPNEGO without NTLMSSP');
    return this.ntlmServer;
  }

  private get ntlm(): NtlmsspServer {
    if (!this.ntlmServer) throw new AuthRejected('NTLMSSP is disabled', 8);
    return this.ntlmServer;
  }

  accept(token: Buffer): AcceptResult {
    try {
      return this.step(token);
    } catch (e) {
      this.phase = 'failed';
      if (e instanceof AuthRejected) throw e;
      if (e instanceof DerError) throw new AuthRejected(`malformed SPNEGO token: ${e.message}`, 9);
      throw e;
    }
  }

  private step(token: Buffer): AcceptResult {
    switch (this.phase) {
      case 'initial':
        // Some clients send raw NTLMSSP under auth type 9 (as Samba's server allows): follow them.
        if (isNtlmssp(token) && this.ntlmServer) {
          this.phase = 'raw';
          return { token: this.ntlm.negotiate(token), complete: false };
        }
        return this.onInit(parseNegotiationToken(token, true));
      case 'raw':
        if (this.ntlm.established) throw new AuthRejected('security context is already established', 9);
        this.ntlm.authenticate(token);
        return { complete: true };
      case 'awaitNegotiate': {
        const r = expectResp(parseNegotiationToken(token));
        if (!r.responseToken) throw new AuthRejected('SPNEGO: expected an NTLMSSP NEGOTIATE', 9);
        const challenge = this.ntlm.negotiate(r.responseToken);
        this.phase = 'challenged';
        return { token: encodeNegTokenResp({ negState: NegState.AcceptIncomplete, responseToken: challenge }), complete: false };
      }
      case 'challenged':
        return this.onAuthenticate(expectResp(parseNegotiationToken(token)));
      case 'awaitMic': {
        const r = expectResp(parseNegotiationToken(token));
        if (!r.mechListMIC) throw new AuthRejected('SPNEGO: the client did not send the required mechListMIC', 9);
        this.verifyMic(r.mechListMIC);
        this.finishMic();
        return { token: encodeNegTokenResp({ negState: NegState.AcceptCompleted }), complete: true };
      }
      case 'krbAwaitApReq': {
        const r = expectResp(parseNegotiationToken(token));
        if (!r.responseToken) throw new AuthRejected('SPNEGO: expected a Kerberos AP-REQ', 9);
        return this.krbApReq(r.responseToken, undefined);
      }
      case 'krbAwaitApRep':
        return this.krbApRep(expectResp(parseNegotiationToken(token)));
      default:
        throw new AuthRejected(`SPNEGO context cannot accept a token now (${this.phase})`, 9);
    }
  }

  private onInit(t: NegotiationToken): AcceptResult {
    if (t.kind !== 'init') throw new AuthRejected('SPNEGO: expected NegTokenInit first', 9);
    const idx = t.mechTypes.findIndex((m) => (m === OID.NTLMSSP && this.ntlmServer) || (KRB5_OIDS.includes(m) && this.kerberos));
    if (idx < 0) {
      // bind_nak reason 8 (authentication type not recognized): Samba clients then retry with another auth type.
      const have = [this.kerberos ? 'Kerberos' : '', this.ntlmServer ? 'NTLMSSP' : ''].filter(Boolean).join(', ');
      this.log.info({ client: clientOf(this.conn), mechTypes: t.mechTypes }, `SPNEGO without a mechanism we offer (${have}): bind_nak reason 8`);
      throw new AuthRejected(`SPNEGO: none of the offered mechanisms (${t.mechTypes.join(', ') || 'none'}) is enabled here (${have})`, 8);
    }
    this.mechTypesDer = t.mechTypesDer;
    this.downgraded = idx > 0;
    const mech = t.mechTypes[idx];
    if (mech !== OID.NTLMSSP) {
      // The optimistic token is for the client's first mechanism only.
      if (idx === 0 && t.mechToken) return this.krbApReq(t.mechToken, mech);
      this.phase = 'krbAwaitApReq';
      return { token: encodeNegTokenResp({ negState: this.downgraded ? NegState.RequestMic : NegState.AcceptIncomplete, supportedMech: mech }), complete: false };
    }
    if (idx === 0 && t.mechToken) {
      const challenge = this.ntlm.negotiate(t.mechToken);
      this.phase = 'challenged';
      return {
        token: encodeNegTokenResp({ negState: NegState.AcceptIncomplete, supportedMech: OID.NTLMSSP, responseToken: challenge }),
        complete: false,
      };
    }
    // NTLMSSP is not the preferred mechanism (the optimistic token is for another one), or no
    // token came: select NTLMSSP and wait for its NEGOTIATE; a downgrade must be MIC-protected.
    this.phase = 'awaitNegotiate';
    return {
      token: encodeNegTokenResp({
        negState: this.downgraded ? NegState.RequestMic : NegState.AcceptIncomplete,
        supportedMech: OID.NTLMSSP,
      }),
      complete: false,
    };
  }

  /** Kerberos leg 1: the AP-REQ (raw DCE style or GSS-framed) in, the AP-REP out. */
  private krbApReq(apReq: Buffer, supportedMech: string | undefined): AcceptResult {
    this.krbPending = this.kerberos!.accept(apReq, this.conn, this.params.authLevel, this.params.headerSigning);
    this.phase = 'krbAwaitApRep';
    return { token: encodeNegTokenResp({ negState: NegState.AcceptIncomplete, supportedMech, responseToken: this.krbPending.apRep }), complete: false };
  }

  /** Kerberos leg 3: the client's AP-REP and mechListMIC (client seq N), answered by ours (seq M). */
  private krbApRep(r: NegTokenResp): AcceptResult {
    if (r.negState === NegState.Reject) throw new AuthRejected('SPNEGO: the client rejected the negotiation', 9);
    if (!r.responseToken) throw new AuthRejected('SPNEGO: expected the client\'s Kerberos AP-REP', 9);
    let session: Krb5Session;
    try {
      session = this.krbPending!.finish(r.responseToken);
    } catch (e) {
      throw this.kerberos!.refuse(e, this.conn, this.krbPending!.principal);
    }
    this.krbPending = undefined; // its session key (and the ciphers cached with it) is not needed any more
    if (!r.mechListMIC) {
      if (this.downgraded) throw new AuthRejected('SPNEGO: the client did not send the required mechListMIC', 9);
      this.krbSession = session;
      this.phase = 'krbDone';
      return { token: encodeNegTokenResp({ negState: NegState.AcceptCompleted }), complete: true };
    }
    try {
      session.protection.verifyMic(r.mechListMIC, this.mechTypesDer!);
    } catch (e) {
      if (e instanceof TokenError) throw new AuthRejected(`SPNEGO: mechListMIC does not verify (${e.message})`, 9);
      throw e;
    }
    const mic = session.protection.getMic(this.mechTypesDer!);
    this.krbSession = session;
    this.phase = 'krbDone';
    return { token: encodeNegTokenResp({ negState: NegState.AcceptCompleted, mechListMIC: mic }), complete: true };
  }

  private onAuthenticate(r: NegTokenResp): AcceptResult {
    if (r.negState === NegState.Reject) throw new AuthRejected('SPNEGO: the client rejected the negotiation', 9);
    if (!r.responseToken) throw new AuthRejected('SPNEGO: expected an NTLMSSP AUTHENTICATE', 9);
    this.ntlm.authenticate(r.responseToken);
    const needMic = this.downgraded || this.ntlm.authenticateHadMic || r.mechListMIC !== undefined;
    if (!needMic) {
      this.phase = 'done';
      return { token: encodeNegTokenResp({ negState: NegState.AcceptCompleted }), complete: true };
    }
    if (!this.ntlm.canSign) throw new AuthRejected('SPNEGO: mechListMIC required but the NTLMSSP session has no keys', 9);
    if (r.mechListMIC) {
      this.verifyMic(r.mechListMIC);
      const mic = this.ntlm.signPdu(this.mechTypesDer!, false);
      this.finishMic();
      return { token: encodeNegTokenResp({ negState: NegState.AcceptCompleted, mechListMIC: mic }), complete: true };
    }
    // The client owes us a mechListMIC: send ours first and wait for it (as Samba does).
    const mic = this.ntlm.signPdu(this.mechTypesDer!, false);
    this.phase = 'awaitMic';
    return { token: encodeNegTokenResp({ negState: NegState.AcceptIncomplete, mechListMIC: mic }), complete: false };
  }

  private verifyMic(mic: Buffer): void {
    if (mic.length !== NTLMSSP_SIGNATURE_LENGTH || !this.ntlm.verifyPdu(this.mechTypesDer!, mic, false)) {
      this.log.warn({ client: clientOf(this.conn), user: this.ntlm.identity?.user, reason: 'bad mechListMIC' },
        'SPNEGO authentication refused');
      this.onRefused?.('bad mechListMIC');
      throw new AuthRejected('SPNEGO: mechListMIC does not verify', 9);
    }
  }

  /**
   * MS-SPNG 3.3.5.1: the RC4 handles go back to their initial state after the mechListMIC,
   * so the first protected PDU uses the same key stream; sequence numbers carry on.
   */
  private finishMic(): void {
    this.ntlm.resetRc4();
    this.phase = 'done';
  }

  protect(pdu: Buffer, stubStart: number, stubEnd: number, level: AuthLevel): Buffer {
    if (this.krbSession) return protectWith(this.krbSession.protection, pdu, stubStart, stubEnd, level);
    this.requireDone();
    return protectPdu(this.ntlm, pdu, stubStart, stubEnd, level);
  }

  protectInto(frag: Buffer, stubStart: number, stubEnd: number, level: AuthLevel): void {
    if (this.krbSession) return protectIntoWith(this.krbSession.protection, frag, stubStart, stubEnd, level);
    this.requireDone();
    protectPduInto(this.ntlm, frag, stubStart, stubEnd, level);
  }

  unprotect(pdu: Buffer, stubStart: number, stubEnd: number, level: AuthLevel, signature: Buffer): void {
    if (this.krbSession) return unprotectWith(this.krbSession.protection, pdu, stubStart, stubEnd, level, signature);
    this.requireDone();
    unprotectPdu(this.ntlm, pdu, stubStart, stubEnd, level, signature);
  }

  supportsLevel(level: AuthLevel): boolean {
    // Kerberos: the acceptor already required the GSS flags (INTEG, CONF) the level needs.
    if (this.krbSession) return true;
    return this.ntlm.supportsLevel(level);
  }

  private requireDone(): void {
    if (this.phase !== 'done' && !(this.phase === 'raw' && this.ntlm.established)) {
      throw new Error('SPNEGO context is not established');
    }
  }
}

function expectResp(t: NegotiationToken): NegTokenResp {
  if (t.kind !== 'resp') throw new AuthRejected('SPNEGO: expected NegTokenResp', 9);
  return t;
}

/**
 * SPNEGO over NTLMSSP (`ntlm` options; undefined when NTLM is turned off) and/or Kerberos
 * (the provider from createKerberosProvider). At least one is required.
 */
export function createSpnegoProvider(ntlm: NtlmsspOptions | undefined, kerberos?: { readonly acceptor: Krb5Acceptor }): SecurityProvider {
  if (ntlm) validateOptions(ntlm);
  if (!ntlm && !kerberos) throw new Error('SPNEGO needs NTLMSSP options or a Kerberos provider');
  return {
    authType: AuthType.SpNego,
    name: 'SPNEGO',
    principalName: ntlm ? serverPrincipalName(ntlm) : undefined,
    newContext: (conn, params) => new SpnegoSecurityContext(ntlm, conn, { kerberos: kerberos?.acceptor, params }),
  };
}
