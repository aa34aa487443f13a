/**
 * The Kerberos test realm (scripts/lib/ad-dc.ts: a Samba AD DC, realm DEMO.LOCAL, at
 * 127.0.0.10 in the test's private network namespace) set up for the test cluster: the CIFS
 * server's names (SOFS, sofs.demo.local → node1's address) are SPNs of the service account
 * `witnessd` (host/ and cifs/, short and DNS names, AES only: KERBEROS.md §1), alice is the
 * allowed user, bob a valid user outside the allow-list, and `other` a second service account
 * whose keytab is the "wrong keytab". Clients run with the realm's krb5.conf and hosts file
 * (the SPN a client asks for is the host name in its binding, so tests use names, never IPs).
 */
import { DEMO_REALM, startAdDc, type AdDc } from '../../../scripts/lib/ad-dc';
import { InteractiveRpcclient } from './rpcclient';
import { runTool, startTool, type ToolResult } from './process';
import { TEST_CLUSTER } from './witnessd';

export const REALM = DEMO_REALM.realm;
export const KRB_USERS = {
  alice: { name: 'alice', password: 'Al1ce-Passw0rd!' },
  bob: { name: 'bob', password: 'B0b-Passw0rd!!' },
} as const;
export const SERVICE_ACCOUNT = {
  name: 'witnessd',
  password: 'W1tnessd-Svc-Passw0rd!',
  spns: ['host', 'cifs'].flatMap((s) => [`${s}/${TEST_CLUSTER.dnsName}`, `${s}/${TEST_CLUSTER.netbiosName}`]),
} as const;
export const OTHER_ACCOUNT = { name: 'other', password: '0ther-Svc-Passw0rd!', spns: ['host/other.demo.local'] } as const;

/** The host name Kerberos clients connect to (its SPNs are the service account's). */
export const KRB_HOST = TEST_CLUSTER.dnsName;

export interface TestRealm {
  readonly dc: AdDc;
  /** Credential caches with a TGT, per user. */
  readonly ccache: Readonly<Record<keyof typeof KRB_USERS, string>>;
  /** witnessd's keytab (every SPN of the service account). */
  readonly keytab: string;
  /** The keytab of another account: its keys do not open tickets for the witness SPNs. */
  readonly wrongKeytab: string;
  stop(): Promise<void>;
}

export async function startTestRealm(): Promise<TestRealm> {
  const dc = await startAdDc({
    hosts: { [TEST_CLUSTER.dnsName]: TEST_CLUSTER.node1.address },
    users: Object.values(KRB_USERS).map((u) => [u.name, u.password] as const),
    services: [SERVICE_ACCOUNT, OTHER_ACCOUNT],
  });
  try {
    const ccache = {
      alice: await dc.kinit(KRB_USERS.alice.name, KRB_USERS.alice.password),
      bob: await dc.kinit(KRB_USERS.bob.name, KRB_USERS.bob.password),
    };
    return { dc, ccache, keytab: dc.keytab(SERVICE_ACCOUNT.name), wrongKeytab: dc.keytab(OTHER_ACCOUNT.name), stop: () => dc.stop() };
  } catch (e) {
    await dc.stop();
    throw e;
  }
}

/** rpcclient options for Kerberos only (no NTLM fallback, no password prompt: KERBEROS.md §8). */
function krbArgs(ccache: string, binding: string): string[] {
  return ['-s', '/dev/null', '--use-kerberos=required', `--use-krb5-ccache=${ccache}`, binding];
}

/** `rpcclient -c "a; b"` with Kerberos from `ccache`. */
export function runKrbRpcclient(realm: TestRealm, ccache: string, binding: string, commands: readonly string[], timeoutMs = 30_000): Promise<ToolResult> {
  const [cmd, args] = realm.dc.withNames('rpcclient', [...krbArgs(ccache, binding), '-c', commands.join('; ')]);
  return runTool(cmd, args, { timeoutMs, env: realm.dc.env(ccache) });
}

/** An interactive rpcclient (commands over stdin) with Kerberos from `ccache`. */
export function startKrbRpcclient(realm: TestRealm, ccache: string, binding: string, lifetimeMs: number): InteractiveRpcclient {
  const [cmd, args] = realm.dc.withNames('rpcclient', krbArgs(ccache, binding));
  return InteractiveRpcclient.over(startTool(cmd, args, { timeoutMs: lifetimeMs, env: realm.dc.env(ccache) }));
}

/**
 * The auth section for witnessd with this realm's keytab (merged over the test cluster's):
 * production-style, anonymous off and integrity minimum (the endpoint mapper still answers the
 * anonymous ept_map every client sends first).
 */
export function kerberosAuth(keytab: string, o: { ntlm?: boolean; allowedPrincipals?: readonly string[] } = {}): Record<string, unknown> {
  return {
    auth: {
      minimumLevel: 'integrity',
      allowAnonymous: false,
      ntlm: o.ntlm ?? true,
      kerberos: { keytab, ...(o.allowedPrincipals ? { allowedPrincipals: o.allowedPrincipals } : {}) },
    },
  };
}
