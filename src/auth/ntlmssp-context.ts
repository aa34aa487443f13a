/**
 * The DCE/RPC security context for auth type 10 (RPC_C_AUTHN_WINNT): bind carries NEGOTIATE,
 * bind_ack the CHALLENGE, AUTH3 (or alter_context) the AUTHENTICATE.
 */
import {
  AuthLevel, AuthRejected, AuthType, type AcceptResult, type ConnectionInfo, type Identity,
  type SecurityContext, type SecurityProvider,
} from '../rpc/security';
import { NtlmsspServer, type NtlmsspOptions } from './ntlmssp';
import { isNtlmssp } from './ntlmssp-messages';
import { NTLMSSP_SIGNATURE_LENGTH, protectPdu, protectPduInto, unprotectPdu } from './pdu-protection';

export class NtlmsspSecurityContext implements SecurityContext {
  readonly signatureLength = NTLMSSP_SIGNATURE_LENGTH;
  private readonly server: NtlmsspServer;

  constructor(opts: NtlmsspOptions, conn: ConnectionInfo) {
    this.server = new NtlmsspServer(opts, conn);
  }

  get identity(): Identity | undefined {
    return this.server.identity;
  }

  /** The underlying NTLMSSP exchange (for tests and diagnostics). */
  get ntlmssp(): NtlmsspServer {
    return this.server;
  }

  accept(token: Buffer): AcceptResult {
    if (this.server.established) throw new AuthRejected('NTLMSSP context is already established', 9);
    if (!isNtlmssp(token)) throw new AuthRejected('auth token is not an NTLMSSP message', 9);
    const type = token.readUInt32LE(8);
    if (type === 1) return { token: this.server.negotiate(token), complete: false };
    if (type === 3) {
      this.server.authenticate(token);
      return { complete: true };
    }
    throw new AuthRejected(`unexpected NTLMSSP message type ${type}`, 9);
  }

  protect(pdu: Buffer, stubStart: number, stubEnd: number, level: AuthLevel): Buffer {
    return protectPdu(this.server, pdu, stubStart, stubEnd, level);
  }

  protectInto(frag: Buffer, stubStart: number, stubEnd: number, level: AuthLevel): void {
    protectPduInto(this.server, frag, stubStart, stubEnd, level);
  }

  unprotect(pdu: Buffer, stubStart: number, stubEnd: number, level: AuthLevel, signature: Buffer): void {
    unprotectPdu(this.server, pdu, stubStart, stubEnd, level, signature);
  }

  supportsLevel(level: AuthLevel): boolean {
    return this.server.supportsLevel(level);
  }
}

export function createNtlmsspProvider(opts: NtlmsspOptions): SecurityProvider {
  validateOptions(opts);
  return {
    authType: AuthType.Ntlmssp,
    name: 'NTLMSSP',
    principalName: serverPrincipalName(opts),
    newContext: (conn) => new NtlmsspSecurityContext(opts, conn),
  };
}

/**
 * The server's principal name as rpc__mgmt_inq_princ_name reports it (MS-SWN product note <11>):
 * the NT4-style machine account, DOMAIN\COMPUTER$, which is what Windows registers for NTLM.
 * witnessd's SPNEGO offers NTLMSSP only (no Kerberos), so it reports the same name.
 */
export function serverPrincipalName(opts: NtlmsspOptions): string {
  return `${opts.netbiosDomainName}\\${opts.netbiosComputerName}$`;
}

export function validateOptions(opts: NtlmsspOptions): void {
  if (!opts.accounts) throw new Error('NTLMSSP: accounts are required');
  if (!/^[^\\/:*?"<>|.\s][^\\/:*?"<>|]{0,14}$/.test(opts.netbiosComputerName ?? '')) {
    throw new Error(`NTLMSSP: netbiosComputerName ${JSON.stringify(opts.netbiosComputerName)} is not a NetBIOS name (1-15 chars)`);
  }
  if (!/^[^\\/:*?"<>|.\s][^\\/:*?"<>|]{0,14}$/.test(opts.netbiosDomainName ?? '')) {
    throw new Error(`NTLMSSP: netbiosDomainName ${JSON.stringify(opts.netbiosDomainName)} is not a NetBIOS name (1-15 chars)`);
  }
}
