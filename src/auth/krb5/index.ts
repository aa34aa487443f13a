/**
 * Kerberos 5 acceptor for witnessd's DCE/RPC runtime (RFC 4120, RFC 4121, MS-KILE): auth type
 * 16 (raw, DCE style) here, and the krb5 mechanism inside SPNEGO (auth type 9, src/auth/spnego.ts).
 *
 *   const krb = createKerberosProvider({ keytab: '/etc/witnessd/sofs.keytab', logger });
 *   new RpcServer({ securityProviders: [krb, createSpnegoProvider(ntlmOptionsOrUndefined, krb)] });
 *
 * The keytab is an MIT keytab (`samba-tool domain exportkeytab`, `ktpass`); it is read at
 * creation (an unreadable file or one without usable keys throws an Error naming the file) and
 * re-read when its size or mtime changes (key rollover). `checkKerberosConfig()` gives the
 * problems `--check-config` reports without building a provider.
 */
import type { SecurityProvider } from '../../rpc/security';
import type { AuthLogger } from '../logger';

export interface KerberosOptions {
  /** Path of the MIT keytab holding the service account's keys. */
  readonly keytab: string;
  /**
   * Service principals this server answers for, e.g. 'cifs/sofs.example.test', 'host/SOFS'
   * (a realm suffix '@EXAMPLE.TEST' is optional). Each must have a key in the keytab.
   * Default: every principal in the keytab. The key is chosen by (enctype, kvno) among these,
   * because a ticket's sname is whatever SPN the client asked for (KERBEROS.md §1).
   */
  readonly principals?: readonly string[];
  /**
   * Who may authenticate: client principals ('alice@EXAMPLE.TEST', case-insensitive) or SIDs
   * from the PAC (user or group, 'S-1-5-21-…-513'). Undefined or empty: any client with a valid ticket.
   */
  readonly allowedPrincipals?: readonly string[];
  /** Allowed clock difference between client and server, seconds. Default 300 (RFC 4120 §1.6 / MS-KILE). */
  readonly clockSkewSeconds?: number;
  readonly logger?: AuthLogger;
  /** Test hook: the clock, in milliseconds since the epoch. */
  readonly now?: () => number;
  /** Bound on the replay cache (authenticators remembered within the skew window). Default 10000. */
  readonly replayCacheSize?: number;
}

/** The auth type 16 provider; SPNEGO (auth type 9) reuses it as its krb5 mechanism. */
export interface KerberosProvider extends SecurityProvider {
  /** Re-read the keytab now if it changed on disk (also done lazily, at most once a second). */
  reload(): void;
  /** The service principals whose keys are loaded ('cifs/sofs.example.test@EXAMPLE.TEST'). */
  readonly principals: readonly string[];
}

// Signatures agreed with the daemon wiring first; the bodies land with the acceptor (same branch).
export function createKerberosProvider(opts: KerberosOptions): KerberosProvider {
  throw new Error(`Kerberos provider not built yet (keytab ${opts.keytab})`);
}

/** Problems with a Kerberos config (file missing, unparsable, no key for a configured principal); [] when fine. */
export function checkKerberosConfig(opts: Pick<KerberosOptions, 'keytab' | 'principals'>): string[] {
  return [`Kerberos keytab check not built yet (${opts.keytab})`];
}
