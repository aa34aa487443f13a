/**
 * The listeners follow the addresses the cluster source serves (CTDB: the node address and
 * the public IPs this node hosts, as takeip/releaseip move them). One reconcile at a time;
 * the latest wanted set wins.
 */
import type { Logger } from 'pino';
import type { ClusterSource } from '../cluster/source';
import type { RpcEndpoint, RpcServer } from '../rpc';

/** A bind that failed is tried again this often, this many times (5 s). */
const BIND_RETRY_MS = 200;
const BIND_RETRIES = 25;

/**
 * Bind and close listener addresses as the source's addresses change. Returns a function
 * that resolves once the listeners match the last wanted set (tests and shutdown wait on it),
 * and the unsubscribe.
 */
export function followAddresses(rpc: RpcServer, endpoints: readonly RpcEndpoint[], source: ClusterSource, log: Logger): { settled: () => Promise<void>; stop: () => void } {
  let wanted: readonly string[] = source.listenAddresses();
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
          log.warn({ err: (err as Error).message, address: a, endpoint: ep.name }, 'could not stop listening on a released address');
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
          log[last ? 'error' : 'warn']({ err: (err as Error).message, address: a, endpoint: ep.name, retry: last ? undefined : retries + 1 }, 'could not listen on an address this node took');
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
  const off = source.onAddresses((addresses) => {
    wanted = addresses;
    retries = 0;
    chain = chain.then(reconcile, reconcile);
  });
  chain = chain.then(reconcile, reconcile); // the addresses served now
  return {
    settled: () => chain,
    stop: () => {
      off();
      clearTimeout(retryTimer);
    },
  };
}
