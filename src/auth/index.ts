/**
 * Authentication for witnessd's DCE/RPC runtime: NTLMSSP (auth type 10) and SPNEGO wrapping
 * NTLMSSP (auth type 9), behind the SecurityProvider seam of src/rpc/security.ts.
 */
export { createNtlmsspProvider, NtlmsspSecurityContext } from './ntlmssp-context';
export { createSpnegoProvider, SpnegoSecurityContext } from './spnego';
export type { NtlmsspOptions } from './ntlmssp';
export {
  ChainedAccountSource, MemoryAccountSource, SmbpasswdAccountSource, accountSourceFromConfig, demoAccounts, parseSmbpasswd,
  type Account, type AccountSource, type AccountsConfig, type MemoryAccountSpec, type SmbpasswdOptions,
} from './accounts';
export type { AuthLogger } from './logger';
export { ntHash } from './ntlm-crypto';
