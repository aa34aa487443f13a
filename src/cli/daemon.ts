/**
 * witnessd assembled: configuration → cluster model → health watcher → Witness service (and
 * the clusapi resource view) → DCE/RPC runtime with the endpoint mapper → admin API. This is
 * the only place that knows every room; the rooms only know their seams.
 */
import pino, { type Logger } from 'pino';
import { startAdminServer, WitnessdMetrics, witnessMetricsSink, type AdminServer } from '../admin';
import { accountSourceFromConfig, createNtlmsspProvider, createSpnegoProvider } from '../auth';
import { createClusapiService } from '../clusapi';
import {
  ClusterModel, HealthWatcher, reloadConfigFile, type AuthLevelName, type ReloadOutcome, type WitnessdConfig,
} from '../cluster';
import type { RpcInterface } from '../ndr/dispatch';
import { AuthLevel, FaultStatus, RpcServer, type CallContext, type RpcEndpoint, type RpcLimits } from '../rpc';
import { createEndpointMapper } from '../rpc/epm/endpoint-mapper';
import { createWitnessService, type Clock, type WitnessOptions, type WitnessServiceHandle } from '../witness';
import { configFromSnapshot } from '../cluster/ctdb/sync';
import type { CtdbSource } from '../cluster/ctdb/source';
import { ctdbAdminAddress, deliveryFrom, followAddresses, reloadCtdb, startCtdbSource } from './ctdb';

export interface WitnessdOptions {
  /** Path the configuration came from (enables reload); undefined = embedded demo. */
  readonly configPath?: string;
  readonly logger?: Logger;
  /** Overrides for tests, benchmarks and the drill (0 = dynamic port). */
  readonly epmPort?: number;
  readonly witnessPort?: number;
  readonly adminAddress?: string;
  readonly witnessOptions?: Partial<WitnessOptions>;
  /** Time source of the Witness service (tests use a manual clock). */
  readonly clock?: Clock;
  /** RPC runtime limits over the configured ones (tests lower the idle limit; the hostile tests raise maxConnections). */
  readonly rpcLimits?: Partial<RpcLimits>;
  /** Serve clusapi (MS-CMRP resources) on the witness port. Default: config clusapi.enabled. */
  readonly clusapi?: boolean;
  /** CTDB mode: ctdbd's socket (--ctdb-socket), over cluster.socket and CTDB's default. */
  readonly ctdbSocket?: string;
}

export interface Witnessd {
  readonly config: WitnessdConfig;
  readonly model: ClusterModel;
  readonly watcher: HealthWatcher;
  readonly witness: WitnessServiceHandle;
  readonly rpc: RpcServer;
  readonly metrics: WitnessdMetrics;
  readonly admin: AdminServer;
  readonly addresses: readonly string[];
  readonly witnessEndpoint: RpcEndpoint;
  /** Undefined when the endpoint mapper is off (epmPort 0 in the config). */
  readonly epmEndpoint: RpcEndpoint | undefined;
  /** CTDB mode: the source feeding the model. */
  readonly ctdb: CtdbSource | undefined;
  /** CTDB mode: resolves once the listeners follow the last takeip/releaseip. */
  listenersSettled(): Promise<void>;
  reload(): Promise<ReloadOutcome>;
  /** Graceful: pending calls are answered or faulted before the sockets close. */
  close(): Promise<void>;
}

const AUTH_LEVEL: Record<AuthLevelName, AuthLevel> = {
  none: AuthLevel.None,
  connect: AuthLevel.Connect,
  packet: AuthLevel.Packet,
  integrity: AuthLevel.Integrity,
  privacy: AuthLevel.Privacy,
};

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The addresses witnessd listens on: configured, or every data LIF address. */
export function listenAddresses(config: WitnessdConfig): string[] {
  if (config.listener.addresses && config.listener.addresses.length > 0) return [...config.listener.addresses];
  const all = config.svms.flatMap((s) => s.lifs.flatMap((l) => [l.ipv4, l.ipv6])).filter((a): a is string => !!a);
  return [...new Set(all)];
}

/**
 * Counts calls per interface for /metrics without the runtime knowing metrics (faults come
 * from the runtime's onFault hook). Adds no promise to a call that waits.
 */
function instrument(iface: RpcInterface<CallContext>, metrics: WitnessdMetrics): RpcInterface<CallContext> {
  return {
    name: iface.name,
    syntax: iface.syntax,
    operationNames: iface.operationNames,
    dispatch(opnum, stub, littleEndian, ctx) {
      metrics.rpcCalls.inc({ interface: iface.name, opnum });
      return iface.dispatch(opnum, stub, littleEndian, ctx);
    },
  };
}

export async function startWitnessd(config: WitnessdConfig, o: WitnessdOptions = {}): Promise<Witnessd> {
  const logger = o.logger ?? pino({ level: config.logging.level });
  // CTDB mode: nodes and public IPs come from ctdbd, read before the model is built.
  const ctdb = await startCtdbSource(config, o.ctdbSocket, logger.child({ room: 'ctdb' }));
  const modelConfig = ctdb && config.ctdb ? configFromSnapshot(config, ctdb.snapshot(), config.ctdb.smbPort) : config;
  const model = new ClusterModel(modelConfig, { logger: logger.child({ room: 'cluster' }) });
  // SFO-pair findings do not apply to CTDB nodes (any node may host any IP it lists).
  for (const f of model.findings()) logger[ctdb ? 'debug' : f.severity === 'error' ? 'error' : 'warn']({ finding: f }, `deployment: ${f.message}`);

  const metrics = new WitnessdMetrics();
  const watcher = new HealthWatcher({ model, config: config.watcher, logger: logger.child({ room: 'health' }), metrics });
  const witness = createWitnessService({
    model,
    logger: logger.child({ room: 'witness' }),
    metrics: {
      ...witnessMetricsSink(metrics),
      operationResult: (operation, result) => metrics.witnessResults.inc({ operation, result: `0x${result.toString(16)}` }),
    },
    options: {
      unusedTimeoutMs: config.timeouts.unusedRegistrationSeconds * 1000,
      keepAliveMaxSeconds: config.timeouts.keepAliveMaxSeconds,
      maxRegistrations: config.limits.maxRegistrations,
      maxRegistrationsPerClient: config.limits.maxRegistrationsPerClient,
      ...o.witnessOptions,
    },
    clock: o.clock,
  });

  // Anonymous access means calls without any auth are accepted, so the runtime's minimum
  // must then be None; authenticated clients still negotiate integrity or privacy.
  const minAuthLevel = config.auth.allowAnonymous ? AuthLevel.None : AUTH_LEVEL[config.auth.minimumLevel];
  const authLog = logger.child({ room: 'auth' });
  if (ctdb) {
    ctdb.delivery = deliveryFrom(witness.admin);
    ctdb.attach(model, config);
  }
  const firstSvm = config.svms[0];
  const authOptions = {
    accounts: accountSourceFromConfig(config.auth, authLog),
    netbiosComputerName: firstSvm.netbiosName,
    netbiosDomainName: config.auth.accounts.find((a) => a.domain)?.domain ?? firstSvm.netbiosName,
    dnsComputerName: firstSvm.dnsName,
    dnsDomainName: firstSvm.dnsName.split('.').slice(1).join('.') || firstSvm.dnsName,
    allowAnonymous: config.auth.allowAnonymous,
    logger: authLog,
  };
  const rpc = new RpcServer({
    logger: logger.child({ room: 'rpc' }),
    minAuthLevel,
    limits: {
      maxPendingCallsPerConnection: config.limits.maxPendingCallsPerConnection,
      ...definedOnly({
        maxConnections: config.limits.maxConnections,
        unboundIdleMs: config.limits.unboundIdleMs,
        partialPduMs: config.limits.partialPduMs,
        idleEvictMs: config.limits.idleEvictMs,
      }),
      ...o.rpcLimits,
    },
    securityProviders: [createNtlmsspProvider(authOptions), createSpnegoProvider(authOptions)],
    onFault: (iface, _opnum, status) => metrics.rpcFaults.inc({ interface: iface, status: `0x${status.toString(16)}` }),
  });

  const interfaces: RpcInterface<CallContext>[] = [instrument(witness.rpcInterface, metrics)];
  if (o.clusapi ?? config.clusapi.enabled) {
    const clusapi = createClusapiService({
      model,
      logger: logger.child({ room: 'clusapi' }),
      allowAnonymous: config.auth.allowAnonymous && config.clusapi.allowAnonymous,
    });
    interfaces.push(instrument(clusapi.rpcInterface, metrics));
  }

  // Following CTDB: bind the node address here, the hosted public IPs through followAddresses
  // (a public IP that is not on the interface yet must not stop witnessd from starting).
  const addresses = ctdb && config.ctdb?.followIps ? [ctdb.nodeAddress] : listenAddresses(config);
  let admin: AdminServer | undefined;
  try {
    const witnessEndpoint = await rpc.listen({
      address: addresses, port: o.witnessPort ?? config.listener.witnessPort, interfaces, name: 'witness',
    });
    const epmPort = o.epmPort ?? config.listener.epmPort;
    const epmEndpoint = epmPort === 0 && o.epmPort === undefined
      ? undefined
      : await rpc.listen({ address: addresses, port: epmPort, interfaces: [createEndpointMapper(rpc)], name: 'epmapper' });
    admin = await startAdminServer({
      model, witness: witness.admin, metrics, config, watcher,
      logger: logger.child({ room: 'admin' }),
      configPath: o.configPath,
      address: o.adminAddress ?? (ctdb ? ctdbAdminAddress(config, ctdb) : undefined),
      ...(ctdb && o.configPath ? { reload: () => reloadCtdb(ctdb, o.configPath as string, watcher) } : {}),
      ...(ctdb ? { ctdb } : {}),
    });
    const settled = ctdb && config.ctdb?.followIps
      ? followAddresses(rpc, epmEndpoint ? [witnessEndpoint, epmEndpoint] : [witnessEndpoint], ctdb, logger.child({ room: 'ctdb' }))
      : () => Promise.resolve();
    await settled();
    watcher.start();
    const adminServer = admin;
    let closing: Promise<void> | undefined;
    return {
      // The witness endpoint's own list: in CTDB mode it follows takeip/releaseip.
      config, model, watcher, witness, rpc, metrics, admin: adminServer, addresses: witnessEndpoint.addresses, witnessEndpoint, epmEndpoint, ctdb,
      listenersSettled: settled,
      async reload() {
        if (!o.configPath) throw new Error('the embedded demo configuration cannot be reloaded; start witnessd with --config FILE');
        if (ctdb) return reloadCtdb(ctdb, o.configPath, watcher);
        return reloadConfigFile(model, watcher, o.configPath);
      },
      close() {
        closing ??= (async () => {
          ctdb?.close();
          await watcher.stop();
          // The RPC runtime aborts pending calls (AsyncNotify) and answers them before closing.
          await rpc.close();
          witness.close();
          await adminServer.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    ctdb?.close();
    await watcher.stop();
    witness.close();
    await rpc.close();
    await admin?.close();
    throw err;
  }
}
