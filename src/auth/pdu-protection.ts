/**
 * Packet integrity and privacy for DCE/RPC with an NTLMSSP session (MS-RPCE 3.3.1.5.2.2 with
 * MS-NLMP 3.4): the signature covers the whole PDU handed in (header, body, auth padding,
 * sec_trailer; not the verifier), always, whether or not header signing was negotiated.
 */
import { AuthLevel, IntegrityError } from '../rpc/security';
import type { NtlmsspServer } from './ntlmssp';

export const NTLMSSP_SIGNATURE_LENGTH = 16;

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
