/**
 * Authentication for witnessd's DCE/RPC runtime: NTLMSSP (auth type 10) and SPNEGO wrapping
 * NTLMSSP (auth type 9), behind the SecurityProvider seam of src/rpc/security.ts.
 *
 *   const accounts = accountSourceFromConfig(cfg.auth, logger);     // smbpasswd file + inline
 *   const opts = { accounts, netbiosComputerName: 'SOFS', netbiosDomainName: 'DEMO',
 *                  dnsComputerName: 'sofs.demo.local', dnsDomainName: 'demo.local',
 *                  allowAnonymous: false, allowNtlmV1: false, logger };
 *   new RpcServer({ securityProviders: [createNtlmsspProvider(opts), createSpnegoProvider(opts)] });
 *
 * Refusals are AuthRejected (bind_nak reason 9; 8 when SPNEGO offers no NTLMSSP); a bad,
 * tampered or replayed verifier is IntegrityError. Identities are canonical (the account's
 * own spelling; domain = the account's domain or netbiosDomainName), so principal names
 * compare exactly.
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
