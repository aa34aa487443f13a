/**
 * NTLMv1 and NTLM2 session response verification (MS-NLMP 3.3.1), used only when the
 * operator sets allowNtlmV1. Returns the KeyExchangeKey, or undefined on a wrong password.
 */
import { desl } from './des';
import { md4 } from './md4';
import { constantTimeEqual, hmacMd5, md5 } from './ntlm-crypto';
import { NegotiateFlags as F } from './ntlmssp-messages';

export function verifyNtlmV1(
  ntHashValue: Buffer, serverChallenge: Buffer, ntResponse: Buffer, lmResponse: Buffer, flags: number,
): Buffer | undefined {
  const sessionBaseKey = md4(ntHashValue);
  if (flags & F.EXTENDED_SESSIONSECURITY) {
    if (lmResponse.length < 8) return undefined;
    const clientChallenge = lmResponse.subarray(0, 8);
    const expect = desl(ntHashValue, md5(serverChallenge, clientChallenge).subarray(0, 8));
    if (!constantTimeEqual(expect, ntResponse)) return undefined;
    return hmacMd5(sessionBaseKey, serverChallenge, clientChallenge);
  }
  const expect = desl(ntHashValue, serverChallenge);
  if (!constantTimeEqual(expect, ntResponse)) return undefined;
  return sessionBaseKey;
}
