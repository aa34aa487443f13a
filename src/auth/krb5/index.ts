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
 *
 * Files, one job each: rfc3961.ts (Enctype shape, n-fold, DK), aes-cts.ts (RFC 3962 CTS),
 * enctypes.ts (aes-sha1, rc4-hmac; the registry), aes-sha2.ts (RFC 8009), asn1.ts + messages.ts
 * (Kerberos DER), keytab.ts (MIT keytab, key choice), gss-checksum.ts (0x8003), pac.ts (MS-PAC),
 * replay-cache.ts, acceptor.ts (the checks and the three legs), cfx.ts (RFC 4121 MIC/Wrap in
 * the DCE layout), context.ts (auth type 16); SPNEGO's krb5 branch is in ../spnego.ts.
 */
import { readFileSync, statSync } from 'node:fs';
import { AuthType, type SecurityProvider } from '../../rpc/security';
import { type AuthLogger, nullLogger } from '../logger';
import { Krb5Acceptor } from './acceptor';
import { KerberosSecurityContext } from './context';
import { KeytabError, ServiceKeys, parseKeytab } from './keytab';
import { ReplayCache } from './replay-cache';

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
  /** Told of every refused authentication with a short reason (metrics; the daemon binds it). */
  readonly onRefused?: (reason: string) => void;
  /** Test hook: the clock, in milliseconds since the epoch. */
  readonly now?: () => number;
  /** Bound on the replay cache (authenticators remembered within the skew window). Default 10000. */
  readonly replayCacheSize?: number;
  /** Test hook: the source of subkeys, sequence numbers and confounders. */
  readonly randomBytes?: (n: number) => Buffer;
}

/** The auth type 16 provider; SPNEGO (auth type 9) reuses it as its krb5 mechanism. */
export interface KerberosProvider extends SecurityProvider {
  /** Re-read the keytab now if it changed on disk (also done lazily, at most once a second). */
  reload(): void;
  /** The service principals whose keys are loaded ('cifs/sofs.example.test@EXAMPLE.TEST'). */
  readonly principals: readonly string[];
  /** The acceptor itself, which SPNEGO uses as its krb5 mechanism. */
  readonly acceptor: Krb5Acceptor;
}

const DEFAULT_SKEW_SECONDS = 300;
const DEFAULT_REPLAY_CACHE = 10000;
/** How often (at most) a new context looks at the keytab file for a rollover. */
const KEYTAB_RECHECK_MS = 1000;

function loadKeys(path: string, principals?: readonly string[]): ServiceKeys {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw new KeytabError(`keytab ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return new ServiceKeys(parseKeytab(data), principals);
  } catch (e) {
    throw new KeytabError(`keytab ${path}: ${(e as Error).message}`);
  }
}

function fileStamp(path: string): string {
  try {
    const st = statSync(path);
    return `${st.size}:${st.mtimeMs}:${st.ino}`;
  } catch {
    return 'missing';
  }
}

export function createKerberosProvider(opts: KerberosOptions): KerberosProvider {
  const log = opts.logger ?? nullLogger;
  const now = opts.now ?? Date.now;
  const skewSeconds = opts.clockSkewSeconds ?? DEFAULT_SKEW_SECONDS;
  if (!(skewSeconds >= 0 && skewSeconds <= 86400)) throw new Error(`Kerberos: clockSkewSeconds ${skewSeconds} out of range (0-86400)`);
  let stamp = fileStamp(opts.keytab);
  let keys = loadKeys(opts.keytab, opts.principals);
  let checkedAt = now();
  const reload = (): void => {
    checkedAt = now();
    const s = fileStamp(opts.keytab);
    if (s === stamp) return;
    try {
      keys = loadKeys(opts.keytab, opts.principals);
      stamp = s;
      log.info({ keytab: opts.keytab, principals: keys.principals, kvnos: [...new Set(keys.entries.map((e) => e.kvno))] }, 'keytab re-read');
    } catch (e) {
      // Keep serving with the keys we have; a half-written file is retried on the next check.
      log.warn({ keytab: opts.keytab, why: (e as Error).message }, 'keytab changed but cannot be used; keeping the previous keys');
    }
  };
  const allowed = opts.allowedPrincipals?.length
    ? new Set(opts.allowedPrincipals.map((p) => (/^S-\d/i.test(p) ? p.toUpperCase() : p.toLowerCase())))
    : undefined;
  const acceptor = new Krb5Acceptor({
    keys: () => {
      if (now() - checkedAt >= KEYTAB_RECHECK_MS) reload();
      return keys;
    },
    clockSkewMs: skewSeconds * 1000,
    now,
    replay: new ReplayCache(opts.replayCacheSize ?? DEFAULT_REPLAY_CACHE),
    allowed,
    logger: log,
    onRefused: opts.onRefused,
    randomBytes: opts.randomBytes,
  });
  return {
    authType: AuthType.Kerberos,
    name: 'Kerberos',
    newContext: (conn, params) => new KerberosSecurityContext(acceptor, conn, params),
    reload,
    get principals() {
      return keys.principals;
    },
    acceptor,
  };
}

/** Problems with a Kerberos config (file missing, unparsable, no key for a configured principal); [] when fine. */
export function checkKerberosConfig(opts: Pick<KerberosOptions, 'keytab' | 'principals'>): string[] {
  try {
    loadKeys(opts.keytab, opts.principals);
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}
