/**
 * The security providers a configuration asks for (auth section): NTLMSSP (auth type 10)
 * unless `auth.ntlm` is false, Kerberos (16) when `auth.kerberos` names a keytab, and SPNEGO
 * (9) over whichever of the two exist; and the Kerberos findings `--check-config` prints.
 */
import { createNtlmsspProvider, createSpnegoProvider, type AuthLogger, type NtlmsspOptions } from '../auth';
import { checkKerberosConfig, createKerberosProvider, type KerberosProvider } from '../auth/krb5';
import type { DeploymentFinding } from '../cluster';
import type { AuthConfig, KerberosConfig, WitnessdConfig } from '../config';
import type { SecurityProvider } from '../rpc';

/** Services Witness clients ask tickets for (KERBEROS.md §1): cifs/ (Windows, Samba ≥ 4.20), host/ (older Samba). */
const SPN_SERVICES = ['cifs', 'host'] as const;

export interface ConfiguredProviders {
  readonly providers: SecurityProvider[];
  /** Present when auth.kerberos is configured. */
  readonly kerberos?: KerberosProvider;
}

function kerberosOptions(k: KerberosConfig) {
  return {
    keytab: k.keytab,
    ...(k.principals ? { principals: k.principals } : {}),
    ...(k.allowedPrincipals ? { allowedPrincipals: k.allowedPrincipals } : {}),
    ...(k.clockSkewSeconds !== undefined ? { clockSkewSeconds: k.clockSkewSeconds } : {}),
  };
}

/**
 * Build the providers. An unreadable keytab, or one without keys for the configured
 * principals, throws (the daemon refuses to start rather than refuse every Kerberos client).
 */
export function securityProvidersFromConfig(auth: AuthConfig, ntlm: NtlmsspOptions, logger: AuthLogger): ConfiguredProviders {
  const kerberos = auth.kerberos ? createKerberosProvider({ ...kerberosOptions(auth.kerberos), logger, onRefused: ntlm.onRefused }) : undefined;
  if (kerberos) logger.info({ keytab: auth.kerberos?.keytab, principals: kerberos.principals }, 'Kerberos: serving these service principals');
  if (!auth.ntlm) logger.info({ ntlm: false }, 'NTLM is off (auth.ntlm: false): SPNEGO offers Kerberos only');
  const ntlmOptions = auth.ntlm ? ntlm : undefined;
  const providers: SecurityProvider[] = [];
  if (ntlmOptions) providers.push(createNtlmsspProvider(ntlmOptions));
  if (kerberos) providers.push(kerberos);
  if (ntlmOptions || kerberos) providers.push(createSpnegoProvider(ntlmOptions, kerberos));
  return { providers, kerberos };
}

/** The SPNs a client may ask for to reach this configuration's CIFS servers: cifs/ and host/, NetBIOS and DNS names. */
export function kerberosServiceNames(config: Pick<WitnessdConfig, 'svms'>): string[] {
  const names = config.svms.flatMap((s) => [s.netbiosName, s.dnsName]);
  return [...new Set(SPN_SERVICES.flatMap((svc) => names.map((n) => `${svc}/${n}`)))];
}

/**
 * `--check-config` findings for auth.kerberos: the keytab exists and parses (error), holds
 * keys for the configured principals (error), and for every name the config serves
 * (warning: a client asking for that name would get no answer it can use).
 */
export function kerberosFindings(config: Pick<WitnessdConfig, 'svms' | 'auth'>): DeploymentFinding[] {
  const k = config.auth.kerberos;
  if (!k) return [];
  const fileProblems = checkKerberosConfig({ keytab: k.keytab });
  if (fileProblems.length > 0) return fileProblems.map((message) => ({ severity: 'error', message: `auth.kerberos.keytab: ${message}` }));
  const out: DeploymentFinding[] = [];
  if (k.principals) {
    for (const message of checkKerberosConfig({ keytab: k.keytab, principals: k.principals })) {
      out.push({ severity: 'error', message: `auth.kerberos.principals: ${message}` });
    }
  }
  const served = new Set((k.principals ?? []).map((p) => p.split('@')[0].toLowerCase()));
  for (const spn of kerberosServiceNames(config)) {
    if (k.principals) {
      // A listed one was checked above.
      if (!served.has(spn.toLowerCase())) out.push({ severity: 'warning', message: `SPN ${spn} is not in auth.kerberos.principals: clients that ask for it are refused` });
      continue;
    }
    for (const message of checkKerberosConfig({ keytab: k.keytab, principals: [spn] })) {
      out.push({ severity: 'warning', message: `clients that ask for ${spn} are refused: ${message}` });
    }
  }
  return out;
}
