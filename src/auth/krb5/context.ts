/**
 * The DCE/RPC security context for auth type 16 (RPC_C_AUTHN_GSS_KERBEROS), DCE style: the
 * bind carries the AP-REQ, bind_ack the AP-REP with the acceptor subkey, auth3 (or an
 * alter_context) the initiator's AP-REP; then MIC (integrity) or Wrap (privacy) verifiers.
 */
import {
  AuthLevel, AuthRejected, IntegrityError, type AcceptResult, type ConnectionInfo, type ContextParams, type Identity,
  type SecurityContext,
} from '../../rpc/security';
import { SEC_TRAILER_LENGTH } from '../../rpc/constants';
import { MIC_TOKEN_LENGTH, TokenError, WRAP_TOKEN_LENGTH, type CfxContext } from './cfx';
import type { Krb5Acceptor, Krb5Session, PendingExchange } from './acceptor';

/** What the runtime assumes when a caller gives no parameters (tests): the common integrity binding. */
export const DEFAULT_PARAMS: ContextParams = { authLevel: AuthLevel.Integrity, headerSigning: true };

export function verifierLength(level: AuthLevel): number {
  return level === AuthLevel.Privacy ? WRAP_TOKEN_LENGTH : MIC_TOKEN_LENGTH;
}

/** MIC or Wrap on a PDU by level, for any context that ends with a Kerberos session. */
export function protectWith(p: CfxContext, pdu: Buffer, stubStart: number, stubEnd: number, level: AuthLevel): Buffer {
  checkRange(pdu, stubStart, stubEnd);
  if (level === AuthLevel.Privacy) return p.sealPdu(pdu, stubStart, stubEnd);
  if (level === AuthLevel.Integrity || level === AuthLevel.Packet) return p.signPdu(pdu, stubStart, stubEnd);
  throw new RangeError(`auth level ${level} has no per-PDU protection`);
}

/** protectWith for the runtime's fragments (SecurityContext.protectInto): the verifier goes to frag[stubEnd + 8, …). */
export function protectIntoWith(p: CfxContext, frag: Buffer, stubStart: number, stubEnd: number, level: AuthLevel): void {
  const pduEnd = stubEnd + SEC_TRAILER_LENGTH;
  checkRange(frag, stubStart, stubEnd);
  if (level === AuthLevel.Privacy) {
    if (pduEnd + WRAP_TOKEN_LENGTH > frag.length) throw new RangeError(`no room for a Wrap verifier after byte ${pduEnd} of a ${frag.length}-byte fragment`);
    p.sealInto(frag, stubStart, stubEnd, pduEnd, frag, pduEnd);
    return;
  }
  if (pduEnd + MIC_TOKEN_LENGTH > frag.length) throw new RangeError(`no room for a MIC verifier after byte ${pduEnd} of a ${frag.length}-byte fragment`);
  protectWith(p, frag.subarray(0, pduEnd), stubStart, stubEnd, level).copy(frag, pduEnd);
}

export function unprotectWith(p: CfxContext, pdu: Buffer, stubStart: number, stubEnd: number, level: AuthLevel, sig: Buffer): void {
  checkRange(pdu, stubStart, stubEnd);
  try {
    if (level === AuthLevel.Privacy) p.unsealPdu(pdu, stubStart, stubEnd, sig);
    else if (level === AuthLevel.Integrity || level === AuthLevel.Packet) p.verifyPdu(pdu, stubStart, stubEnd, sig);
    else throw new RangeError(`auth level ${level} has no per-PDU protection`);
  } catch (e) {
    if (e instanceof TokenError) throw new IntegrityError(`Kerberos verifier: ${e.message}`);
    throw e;
  }
}

function checkRange(pdu: Buffer, stubStart: number, stubEnd: number): void {
  if (!(Number.isInteger(stubStart) && Number.isInteger(stubEnd) && 0 <= stubStart && stubStart <= stubEnd && stubEnd <= pdu.length)) {
    throw new RangeError(`stub range [${stubStart}, ${stubEnd}) outside a ${pdu.length}-byte PDU`);
  }
}

export class KerberosSecurityContext implements SecurityContext {
  readonly signatureLength: number;
  private pending: PendingExchange | undefined;
  private session: Krb5Session | undefined;
  private failed = false;

  constructor(private readonly acceptor: Krb5Acceptor, private readonly conn: ConnectionInfo, private readonly params: ContextParams = DEFAULT_PARAMS) {
    this.signatureLength = verifierLength(params.authLevel);
  }

  get identity(): Identity | undefined {
    return this.session?.identity;
  }

  accept(token: Buffer): AcceptResult {
    if (this.failed || this.session) throw new AuthRejected(this.failed ? 'Kerberos context failed' : 'Kerberos context is already established', 9);
    try {
      if (!this.pending) {
        this.pending = this.acceptor.accept(token, this.conn, this.params.authLevel, this.params.headerSigning);
        return { token: this.pending.apRep, complete: false };
      }
      this.session = this.finish(token);
      // The exchange's session key (and the ciphers cached with it) is not needed any more.
      this.pending = undefined;
      return { complete: true };
    } catch (e) {
      this.failed = true;
      throw e;
    }
  }

  private finish(token: Buffer): Krb5Session {
    try {
      return this.pending!.finish(token);
    } catch (e) {
      throw this.acceptor.refuse(e, this.conn, this.pending!.principal);
    }
  }

  protect(pdu: Buffer, stubStart: number, stubEnd: number, level: AuthLevel): Buffer {
    if (!this.session) throw new Error('Kerberos context is not established');
    return protectWith(this.session.protection, pdu, stubStart, stubEnd, level);
  }

  protectInto(frag: Buffer, stubStart: number, stubEnd: number, level: AuthLevel): void {
    if (!this.session) throw new Error('Kerberos context is not established');
    protectIntoWith(this.session.protection, frag, stubStart, stubEnd, level);
  }

  unprotect(pdu: Buffer, stubStart: number, stubEnd: number, level: AuthLevel, signature: Buffer): void {
    if (!this.session) throw new IntegrityError('Kerberos context is not established');
    unprotectWith(this.session.protection, pdu, stubStart, stubEnd, level, signature);
  }
}
