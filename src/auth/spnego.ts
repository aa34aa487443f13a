/**
 * The DCE/RPC security context for auth type 9 (RPC_C_AUTHN_GSS_NEGOTIATE): SPNEGO
 * (RFC 4178, MS-SPNG) with NTLMSSP as the only mechanism. The bind carries NegTokenInit
 * (usually with an optimistic NTLMSSP NEGOTIATE), bind_ack answers with the CHALLENGE,
 * alter_context carries AUTHENTICATE and the mechListMIC, alter_context_resp completes.
 */
import {
  AuthLevel, AuthRejected, AuthType, type AcceptResult, type ConnectionInfo, type Identity,
  type SecurityContext, type SecurityProvider,
} from '../rpc/security';
import { DerError } from './der';
import { NtlmsspServer, clientOf, type NtlmsspOptions } from './ntlmssp';
import { nullLogger, type AuthLogger } from './logger';
import { validateOptions } from './ntlmssp-context';
import { isNtlmssp } from './ntlmssp-messages';
import { NTLMSSP_SIGNATURE_LENGTH, protectPdu, unprotectPdu } from './pdu-protection';
import {
  NegState, OID, encodeNegTokenResp, parseNegotiationToken, type NegTokenResp, type NegotiationToken,
} from './spnego-token';

type Phase = 'initial' | 'awaitNegotiate' | 'challenged' | 'awaitMic' | 'done' | 'failed' | 'raw';

export class SpnegoSecurityContext implements SecurityContext {
  readonly signatureLength = NTLMSSP_SIGNATURE_LENGTH;
  private readonly ntlm: NtlmsspServer;
  private phase: Phase = 'initial';
  private mechTypesDer: Buffer | undefined;
  /** NTLM was not the client's first choice: MS-SPNG requires the mechListMIC then. */
  private downgraded = false;

  private readonly log: AuthLogger;

  constructor(opts: NtlmsspOptions, private readonly conn: ConnectionInfo) {
    this.ntlm = new NtlmsspServer(opts, conn);
    this.log = opts.logger ?? nullLogger;
  }

  get identity(): Identity | undefined {
    return this.phase === 'done' || this.phase === 'raw' ? this.ntlm.identity : undefined;
  }

  get ntlmssp(): NtlmsspServer {
    return this.ntlm;
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
        if (isNtlmssp(token)) {
          this.phase = 'raw';
          return { token: this.ntlm.negotiate(token), complete: false };
        }
        return this.onInit(parseNegotiationToken(token));
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
      default:
        throw new AuthRejected(`SPNEGO context cannot accept a token now (${this.phase})`, 9);
    }
  }

  private onInit(t: NegotiationToken): AcceptResult {
    if (t.kind !== 'init') throw new AuthRejected('SPNEGO: expected NegTokenInit first', 9);
    const idx = t.mechTypes.indexOf(OID.NTLMSSP);
    if (idx < 0) {
      // bind_nak reason 8 (authentication type not recognized): Samba clients then retry NTLMSSP.
      this.log.info({ client: clientOf(this.conn), mechTypes: t.mechTypes }, 'SPNEGO without NTLMSSP: bind_nak reason 8');
      throw new AuthRejected(`SPNEGO: no NTLMSSP mechanism offered (${t.mechTypes.join(', ') || 'none'})`, 8);
    }
    this.mechTypesDer = t.mechTypesDer;
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
    this.downgraded = idx > 0;
    this.phase = 'awaitNegotiate';
    return {
      token: encodeNegTokenResp({
        negState: this.downgraded ? NegState.RequestMic : NegState.AcceptIncomplete,
        supportedMech: OID.NTLMSSP,
      }),
      complete: false,
    };
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
    this.requireDone();
    return protectPdu(this.ntlm, pdu, stubStart, stubEnd, level);
  }

  unprotect(pdu: Buffer, stubStart: number, stubEnd: number, level: AuthLevel, signature: Buffer): void {
    this.requireDone();
    unprotectPdu(this.ntlm, pdu, stubStart, stubEnd, level, signature);
  }

  supportsLevel(level: AuthLevel): boolean {
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

export function createSpnegoProvider(opts: NtlmsspOptions): SecurityProvider {
  validateOptions(opts);
  return {
    authType: AuthType.SpNego,
    name: 'SPNEGO',
    newContext: (conn) => new SpnegoSecurityContext(opts, conn),
  };
}
