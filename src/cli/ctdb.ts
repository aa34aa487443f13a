/**
 * The daemon's CTDB assembly (cluster.source: ctdb): start the source, let the listeners
 * follow the public IPs this node hosts, and tell the source how far a LIF's notifications
 * have been delivered (for the releaseip hook's wait). daemon.ts calls these; nothing else does.
 */
import type { Logger } from 'pino';
import type { WitnessdConfig } from '../cluster';
import { formatHostPort } from '../lib/address';
import { defaultCtdbSocket } from '../cluster/ctdb/config';
import { ADMIN_PORT } from '../config';
import { CtdbSource, type DeliveryState } from '../cluster/ctdb/source';
import type { RpcEndpoint, RpcServer } from '../rpc';
import type { WitnessAdminPort } from '../witness/admin-port';
import type { ClusterModel } from '../cluster/model';
import { modelPeerCluster } from '../cluster/peers/cluster';
import { PeerWatch } from '../cluster/peers/watch';

export async function startCtdbSource(config: WitnessdConfig, socket: string | undefined, logger: Logger): Promise<CtdbSource | undefined> {
  if (!config.ctdb) return undefined;
  return CtdbSource.start({ settings: config.ctdb, socketPath: socket ?? config.ctdb.socket ?? defaultCtdbSocket(), logger, startTimeoutMs: config.ctdb.startTimeoutMs });
}

/** The admin API's address in CTDB mode: admin.address as written, else the node address, port ADMIN_PORT. */
export function ctdbAdminAddress(config: WitnessdConfig, source: CtdbSource): string {
  return config.ctdb?.adminAddress ?? formatHostPort({ host: source.nodeAddress, port: ADMIN_PORT });
}

/** Registrations on a LIF (named by its address in CTDB mode) and how many still wait for a notification to go out. */
export function deliveryFrom(witness: WitnessAdminPort): (lif: string) => DeliveryState {
  return (lif) => {
    const regs = witness.list({ ipAddress: lif });
    return { total: regs.length, undelivered: regs.filter((r) => (r.pendingNotifications ?? 0) > 0).length };
  };
}

/** A bind that failed is tried again this often, this many times (5 s). */
const BIND_RETRY_MS = 200;
const BIND_RETRIES = 25;

/**
 * Bind and close listener addresses as the node's hosted IPs change (takeip/releaseip). One
 * reconcile at a time; the latest wanted set wins. Returns a function that resolves once
 * the listeners match the last wanted set (tests and shutdown wait on it).
 */
export function followAddresses(rpc: RpcServer, endpoints: readonly RpcEndpoint[], source: CtdbSource, log: Logger): () => Promise<void> {
  let wanted: readonly string[] = source.localAddresses();
  let chain: Promise<void> = Promise.resolve();
  let retryTimer: NodeJS.Timeout | undefined;
  let retries = 0;
  const reconcile = async (): Promise<void> => {
    const target = wanted;
    let failed = false;
    for (const ep of endpoints) {
      for (const a of [...ep.addresses]) {
        if (target.includes(a)) continue;
        try {
          await rpc.removeAddress(ep, a);
        } catch (err) {
          log.warn({ err: (err as Error).message, address: a, endpoint: ep.name }, 'ctdb: could not stop listening on a released address');
        }
      }
      for (const a of target) {
        if (ep.addresses.includes(a)) continue;
        try {
          await rpc.addAddress(ep, a);
        } catch (err) {
          // EADDRINUSE: the node that released it has not closed yet (nodes sharing one host);
          // EADDRNOTAVAIL: the address is not on an interface yet. Both pass: try again.
          failed = true;
          const last = retries >= BIND_RETRIES;
          log[last ? 'error' : 'warn']({ err: (err as Error).message, address: a, endpoint: ep.name, retry: last ? undefined : retries + 1 }, 'ctdb: could not listen on a public IP this node took');
        }
      }
    }
    clearTimeout(retryTimer);
    if (failed && retries < BIND_RETRIES && target === wanted) {
      retries++;
      retryTimer = setTimeout(() => {
        chain = chain.then(reconcile, reconcile);
      }, BIND_RETRY_MS);
      retryTimer.unref();
    } else if (!failed) retries = 0;
  };
  source.on('addresses', (addresses: string[]) => {
    wanted = addresses;
    retries = 0;
    chain = chain.then(reconcile, reconcile);
  });
  chain = chain.then(reconcile, reconcile); // the IPs hosted now
  return () => chain;
}

/**
 * The peer watch (cluster.peerWatch, README "Faster than CTDB: hangs and partitions"): probes
 * and heartbeats between the witnessd instances; it gates CTDB's node failures (rules R5/R6)
 * and re-applies them when a hold lifts. Off without an admin token (the heartbeat's key).
 */
export async function startPeerWatch(config: WitnessdConfig, source: CtdbSource, model: ClusterModel, log: Logger): Promise<PeerWatch | undefined> {
  const settings = config.ctdb?.peerWatch;
  if (!settings?.enabled) return undefined;
  const token = config.admin.token;
  if (!token) {
    log.warn('peer watch off: it signs its heartbeats with admin.token, and none is set (nodes change state only as CTDB says)');
    return undefined;
  }
  const watch = new PeerWatch({
    cluster: modelPeerCluster(model, source.nodeName, (node) => source.saysInactive(node), log),
    config: settings, token, logger: log,
  });
  await watch.start();
  source.holdNodeDown((node) => watch.holdCtdbDown(node));
  watch.on('hold-lifted', () => source.reapplyNodeFlags());
  return watch;
}
