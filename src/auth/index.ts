/**
 * Authentication for witnessd's DCE/RPC runtime: NTLMSSP (auth type 10), Kerberos (auth type
 * 16, src/auth/krb5/) and SPNEGO over either (auth type 9), behind the SecurityProvider seam
 * of src/rpc/security.ts.
 *
 *   const accounts = accountSourceFromConfig(cfg.auth, logger);     // smbpasswd file + inline
 *   const opts = { accounts, netbiosComputerName: 'SOFS', netbiosDomainName: 'DEMO',
 *                  dnsComputerName: 'sofs.demo.local', dnsDomainName: 'demo.local',
 *                  allowAnonymous: false, allowNtlmV1: false, logger };
 *   const krb = createKerberosProvider({ keytab: '/etc/witnessd/sofs.keytab', logger });
 *   new RpcServer({ securityProviders: [createNtlmsspProvider(opts), krb, createSpnegoProvider(opts, krb)] });
 *   // NTLM off: [krb, createSpnegoProvider(undefined, krb)]
 *
 * Refusals are AuthRejected (bind_nak reason 9; 8 when SPNEGO offers no NTLMSSP); a bad,
 * tampered or replayed verifier is IntegrityError. Identities are canonical (the account's
 * own spelling; domain = the account's domain or netbiosDomainName), so principal names
 * compare exactly.
 */
export { createNtlmsspProvider, NtlmsspSecurityContext } from './ntlmssp-context';
export { createSpnegoProvider, SpnegoSecurityContext } from './spnego';
export {
  checkKerberosConfig, createKerberosProvider, type KerberosOptions, type KerberosProvider,
} from './krb5';
export type { NtlmsspOptions } from './ntlmssp';
export {
  ChainedAccountSource, MemoryAccountSource, SmbpasswdAccountSource, accountSourceFromConfig, demoAccounts, parseSmbpasswd,
  type Account, type AccountSource, type AccountsConfig, type MemoryAccountSpec, type SmbpasswdOptions,
} from './accounts';
export type { AuthLogger } from './logger';
export { ntHash } from './ntlm-crypto';
