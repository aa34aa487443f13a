/**
 * Packet integrity and privacy for DCE/RPC with an NTLMSSP session (MS-RPCE 3.3.1.5.2.2 with
 * MS-NLMP 3.4): the signature covers the whole PDU handed in (header, body, auth padding,
 * sec_trailer; not the verifier), always, whether or not header signing was negotiated.
 */
import { SEC_TRAILER_LENGTH } from '../rpc/constants';
import { AuthLevel, IntegrityError } from '../rpc/security';
import { NTLMSSP_SIGNATURE_LENGTH } from './ntlm-crypto';
import type { NtlmsspServer } from './ntlmssp';

export { NTLMSSP_SIGNATURE_LENGTH };

function checkRange(pdu: Buffer, stubStart: number, stubEnd: number): void {
  if (!(Number.isInteger(stubStart) && Number.isInteger(stubEnd) && 0 <= stubStart && stubStart <= stubEnd && stubEnd <= pdu.length)) {
    throw new RangeError(`stub range [${stubStart}, ${stubEnd}) outside a ${pdu.length}-byte PDU`);
  }
}

function wantsSeal(level: AuthLevel): boolean {
  switch (level) {
    case AuthLevel.Packet:
    case AuthLevel.Integrity:
      return false;
    case AuthLevel.Privacy:
      return true;
    default:
      throw new RangeError(`auth level ${level} has no per-PDU protection`);
  }
}

export function protectPdu(s: NtlmsspServer, pdu: Buffer, stubStart: number, stubEnd: number, level: AuthLevel): Buffer {
  checkRange(pdu, stubStart, stubEnd);
  const seal = wantsSeal(level);
  if (!s.established || !s.send) throw new Error('NTLMSSP context has no session keys for signing');
  return s.signPdu(pdu, seal, stubStart, stubEnd);
}

/** protectPdu for the runtime's fragments (SecurityContext.protectInto): the signature goes to frag[stubEnd + 8, …). */
export function protectPduInto(s: NtlmsspServer, frag: Buffer, stubStart: number, stubEnd: number, level: AuthLevel): void {
  checkRange(frag, stubStart, stubEnd);
  const pduEnd = stubEnd + SEC_TRAILER_LENGTH;
  if (pduEnd + NTLMSSP_SIGNATURE_LENGTH > frag.length) throw new RangeError(`no room for a signature after byte ${pduEnd} of a ${frag.length}-byte fragment`);
  const seal = wantsSeal(level);
  if (!s.established || !s.send) throw new Error('NTLMSSP context has no session keys for signing');
  s.signInto(frag, pduEnd, seal, stubStart, stubEnd, frag, pduEnd);
}

export function unprotectPdu(
  s: NtlmsspServer, pdu: Buffer, stubStart: number, stubEnd: number, level: AuthLevel, signature: Buffer,
): void {
  checkRange(pdu, stubStart, stubEnd);
  const seal = wantsSeal(level);
  if (!s.established || !s.recv) throw new IntegrityError('NTLMSSP context has no session keys for verifying');
  if (signature.length !== NTLMSSP_SIGNATURE_LENGTH) {
    throw new IntegrityError(`NTLMSSP verifier is ${signature.length} bytes, expected ${NTLMSSP_SIGNATURE_LENGTH}`);
  }
  if (!s.verifyPdu(pdu, signature, seal, stubStart, stubEnd)) {
    throw new IntegrityError('NTLMSSP signature check failed (tampered, replayed or out-of-order PDU)');
  }
}
