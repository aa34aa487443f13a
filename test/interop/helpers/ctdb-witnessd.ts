/**
 * witnessd as a CTDB-managed service on the harness's cluster (helpers/ctdb-cluster.ts), the way
 * an administrator installs it (README "Running on a CTDB cluster"): the shipped event script
 * scripts/ctdb/events/legacy/09.witnessd.script in every node's events/legacy/, its options in
 * the node's script.options, one YAML per node with the CTDB source only (no nodes, no IPs).
 * CTDB's startup event starts witnessd, monitor checks it, shutdown stops it; the witness
 * endpoint and the endpoint mapper follow the node's IPs; the admin API is on NODE:8135.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { CTDB_NODES, nodeAddress, type CtdbCluster, type CtdbClusterOptions } from './ctdb-cluster';
import { REPO_ROOT } from './witnessd';

export const WITNESSD_EVENT_SCRIPT = path.join(REPO_ROOT, 'scripts', 'ctdb', 'events', 'legacy', '09.witnessd.script');
export const CTDB_ADMIN_TOKEN = 'ctdb-test-cluster-admin-token';
export const CTDB_SERVER = { netbiosName: 'SOFS', dnsName: 'sofs.demo.local', share: 'vmstore' } as const;
export const CTDB_ACCOUNT = { domain: 'DEMO', user: 'demo', password: 'demo-password' } as const;
/** rpcclient/smbtorture -U value. */
export const CTDB_CREDENTIALS = `${CTDB_ACCOUNT.domain}\\${CTDB_ACCOUNT.user}%${CTDB_ACCOUNT.password}`;

export interface CtdbWitnessdOptions {
  readonly account?: { readonly domain: string; readonly user: string; readonly password: string };
  readonly logLevel?: string;
  /** Merged into each node's YAML top level (shallow). */
  readonly extra?: Record<string, unknown>;
}

export const adminUrl = (pnn: number): string => `http://${nodeAddress(pnn)}:8135`;

/** Where the event script keeps the PID in test mode (beside ctdbd.pid). */
const pidFile = (base: string): string => path.join(base, 'run', 'witnessd.pid');

export function witnessdConfig(o: CtdbWitnessdOptions = {}): Record<string, unknown> {
  const account = o.account ?? CTDB_ACCOUNT;
  return {
    cluster: {
      source: 'ctdb',
      server: { netbiosName: CTDB_SERVER.netbiosName, dnsName: CTDB_SERVER.dnsName, aliases: [] },
      shares: [{ name: CTDB_SERVER.share, continuouslyAvailable: true }],
      // No smbd on these nodes: the peer watch would find every node's SMB server refused.
      peerWatch: { enabled: false },
    },
    listener: { witnessPort: 0, epmPort: 135 },
    admin: { token: CTDB_ADMIN_TOKEN },
    auth: { minimumLevel: 'integrity', allowAnonymous: true, accounts: [{ ...account }] },
    // CTDB alone: no smbd on these nodes to probe.
    watcher: { mode: 'simulated' },
    logging: { level: o.logLevel ?? 'debug' },
    clusapi: { allowAnonymous: true },
    ...(o.extra ?? {}),
  };
}

/** Cluster options that install witnessd on every node (merge with your own). */
export function witnessdClusterOptions(o: CtdbWitnessdOptions = {}): CtdbClusterOptions {
  return {
    eventScripts: [WITNESSD_EVENT_SCRIPT],
    // witnessd under ts-node takes seconds to start on a busy two-core machine.
    tunables: { EventScriptTimeout: 90 },
    prepareNode: (_pnn, base) => {
      const conf = path.join(base, 'witnessd.yaml');
      fs.writeFileSync(conf, stringify(witnessdConfig(o)));
      fs.writeFileSync(path.join(base, 'script.options'), [
        `CTDB_WITNESSD_CONFIG=${conf}`,
        `CTDB_WITNESSD_BIN=${path.join(REPO_ROOT, 'scripts', 'bin', 'witnessd.js')}`,
        `CTDB_WITNESSD_NODE=${process.execPath}`,
        `CTDB_WITNESSD_LOG=${path.join(base, 'witnessd.log')}`,
        `CTDB_WITNESSD_TOKEN=${CTDB_ADMIN_TOKEN}`,
        'CTDB_WITNESSD_START_TIMEOUT=80',
        '',
      ].join('\n'));
    },
  };
}

/** PID of node `pnn`'s witnessd (from the event script's pidfile), if it runs. */
export function witnessdPid(cluster: CtdbCluster, pnn: number): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile(cluster.base(pnn)), 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export function witnessdLog(cluster: CtdbCluster, pnn: number): string {
  try {
    return fs.readFileSync(path.join(cluster.base(pnn), 'witnessd.log'), 'utf8');
  } catch {
    return '';
  }
}

/** The first matching notification line in node `pnn`'s witnessd log (ms epoch), if any yet. */
function notificationLogged(cluster: CtdbCluster, pnn: number, client: string, type: string, since: number): number | undefined {
  for (const line of witnessdLog(cluster, pnn).split('\n')) {
    if (!line.includes('"event":"notification"')) continue;
    try {
      const e = JSON.parse(line) as { time: string; client?: string; type?: string };
      const at = Date.parse(e.time); // ISO-8601 with milliseconds (src/cli/logging.ts)
      if (at >= since && e.type === type && e.client?.toLowerCase() === client.toLowerCase()) return at;
    } catch {
      /* not a log record */
    }
  }
  return undefined;
}

/**
 * When node `pnn`'s witnessd wrote a notification of `type` to `client` (ms epoch, from its
 * log), at or after `since`. On loopback the bytes are in the client's socket at that moment:
 * this is the client host's receipt time, free of the scheduling delay of a loaded test
 * machine before rpcclient's output reaches the test (seen: 1-2 s at load 15 on 2 cores).
 * Polled for up to `timeoutMs`: witnessd writes these lines just after the responses
 * (src/witness/service.ts defers them), so on an idle machine the client can print first.
 */
export async function notificationSentAt(cluster: CtdbCluster, pnn: number, client: string, type: string, since: number, timeoutMs = 5000): Promise<number | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const at = notificationLogged(cluster, pnn, client, type, since);
    if (at !== undefined || Date.now() >= end) return at;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Wait until every node's witnessd answers /healthz (CTDB's startup event started them). */
export async function waitWitnessdUp(cluster: CtdbCluster, timeoutMs = 90_000): Promise<void> {
  for (let i = 0; i < CTDB_NODES; i++) {
    await cluster.waitFor(`witnessd on node ${i} answers ${adminUrl(i)}/healthz`, async () => {
      const r = await fetch(`${adminUrl(i)}/healthz`, { signal: AbortSignal.timeout(2000) });
      return r.ok ? true : undefined;
    }, timeoutMs, 500);
  }
}

/**
 * PIDs of the witnessd processes of this cluster: their command line names a config file in
 * the cluster's own temporary directory (the pidfile alone misses one a test restarted).
 */
export function witnessdPids(cluster: CtdbCluster): number[] {
  const needle = `--config\0${cluster.dir}/node.`;
  const out: number[] = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      if (fs.readFileSync(`/proc/${ent}/cmdline`, 'utf8').includes(needle)) out.push(Number(ent));
    } catch {
      /* exited */
    }
  }
  return out;
}

/** Kill every witnessd of this cluster (teardown: ctdbd's shutdown event stops them too). */
export function killWitnessds(cluster: CtdbCluster): void {
  for (const pid of witnessdPids(cluster)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
