/**
 * witnessd assembled: configuration → cluster model → health watcher → Witness service (and
 * the clusapi resource view) → DCE/RPC runtime with the endpoint mapper → admin API. This is
 * the only place that knows every room; the rooms only know their seams.
 */
import type { Logger } from 'pino';
import { healthMetricsSink, startAdminServer, StatusFeed, WitnessdMetrics, witnessMetricsSink, type AdminServer, type ReloadRecord } from '../admin';
import { accountSourceFromConfig } from '../auth';
import { createClusapiService } from '../clusapi';
import {
  ClusterModel, ConfigError, HealthWatcher, reloadConfigFile, ReloadRefused, type AuthLevelName, type LiveSettings, type ReloadOutcome,
  type WitnessdConfig,
} from '../cluster';
import type { RpcCall, RpcInterface } from '../ndr/dispatch';
import { AuthLevel, FaultStatus, RpcServer, type CallContext, type RpcEndpoint, type RpcLimits } from '../rpc';
import { createEndpointMapper } from '../rpc/epm/endpoint-mapper';
import { createLogger } from './logging';
import { createWitnessService, type Clock, type WitnessOptions, type WitnessServiceHandle } from '../witness';
import { securityProvidersFromConfig } from './security-providers';
import { configFromSnapshot } from '../cluster/ctdb/sync';
import type { CtdbSource } from '../cluster/ctdb/source';
import { ctdbAdminAddress, deliveryFrom, followAddresses, startCtdbSource } from './ctdb';

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
  /** CTDB mode: ctdbd's socket (--ctdb-socket), over cluster.socket and CTDB's default. */
  readonly ctdbSocket?: string;
  /** Serve clusapi (MS-CMRP resources) on the witness port. Default: config clusapi.enabled. */
  readonly clusapi?: boolean;
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
  /** Re-read configPath (SIGHUP and witnessctl reload alike); throws ConfigError / ReloadRefused. */
  reload(): Promise<ReloadOutcome>;
  /** The last reload's outcome (also in the admin API's status). */
  readonly lastReload: ReloadRecord | undefined;
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

/**
 * Counts calls per interface for /metrics without the runtime knowing metrics (faults come
 * from the runtime's onFault hook). Adds no promise to a call that waits.
 */
function instrument(iface: RpcInterface<CallContext>, metrics: WitnessdMetrics): RpcInterface<CallContext> {
  return {
    name: iface.name,
    syntax: iface.syntax,
    operationNames: iface.operationNames,
    dispatch(opnum, stub, call) {
      metrics.rpcCalls.inc({ interface: iface.name, opnum });
      return iface.dispatch(opnum, stub, call);
    },
    ...(iface.dispatchNdr64 && {
      dispatchNdr64(opnum: number, stub: Buffer, call: RpcCall<CallContext>) {
        metrics.rpcCalls.inc({ interface: iface.name, opnum });
        return iface.dispatchNdr64!(opnum, stub, call);
      },
    }),
  };
}

export async function startWitnessd(config: WitnessdConfig, o: WitnessdOptions = {}): Promise<Witnessd> {
  const logger = o.logger ?? createLogger(config.logging.level, 'json');
  // pino children keep the level they were made with: a reload sets each one.
  const loggers: Logger[] = [logger];
  const child = (room: string): Logger => {
    const l = logger.child({ room });
    loggers.push(l);
    return l;
  };
  // CTDB mode: nodes and public IPs come from ctdbd, read before the model is built.
  const ctdb = await startCtdbSource(config, o.ctdbSocket, child('ctdb'));
  const modelConfig = ctdb && config.ctdb ? configFromSnapshot(config, ctdb.snapshot(), config.ctdb.smbPort) : config;
  const model = new ClusterModel(modelConfig, { logger: child('cluster') });
  // SFO-pair findings do not apply to CTDB nodes (any node may host any IP it lists).
  for (const f of model.findings()) logger[ctdb ? 'debug' : f.severity === 'error' ? 'error' : 'warn']({ finding: f }, `deployment: ${f.message}`);

  const metrics = new WitnessdMetrics();
  // The status page's timeline hears each cluster event before the Witness service handles
  // it, so that an event's entry comes before the notifications it causes.
  const feed = new StatusFeed();
  const offFeed = model.subscribe((e) => feed.clusterEvent(e));
  const watcher = new HealthWatcher({ model, config: config.watcher, logger: child('health'), metrics: healthMetricsSink(metrics) });
  const witness = createWitnessService({
    model,
    logger: child('witness'),
    metrics: {
      ...witnessMetricsSink(metrics),
      operationResult: (operation, result) => metrics.witnessResults.inc({ operation, result: `0x${result.toString(16)}` }),
    },
    activity: feed,
    options: {
      unusedTimeoutMs: config.timeouts.unusedRegistrationSeconds * 1000,
      keepAliveMaxSeconds: config.timeouts.keepAliveMaxSeconds,
      maxRegistrations: config.limits.maxRegistrations,
      maxRegistrationsPerClient: config.limits.maxRegistrationsPerClient,
      forcedUnregisterMs: config.witness.forcedUnregisterSeconds * 1000,
      forcedUnregisterV1: config.witness.forcedUnregisterV1,
      interfaceGroupName: config.witness.interfaceGroupName,
      ...o.witnessOptions,
    },
    clock: o.clock,
  });

  // Anonymous access means calls without any auth are accepted, so the runtime's minimum
  // must then be None; authenticated clients still negotiate integrity or privacy.
  const minAuthLevelOf = (c: WitnessdConfig): AuthLevel => (c.auth.allowAnonymous ? AuthLevel.None : AUTH_LEVEL[c.auth.minimumLevel]);
  const authLog = child('auth');
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
    onRefused: (reason: string) => metrics.authFailures.inc({ reason }),
  };
  const security = securityProvidersFromConfig(config.auth, authOptions, authLog);
  const rpc = new RpcServer({
    logger: child('rpc'),
    minAuthLevel: minAuthLevelOf(config),
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
    securityProviders: security.providers,
    onFault: (iface, _opnum, status) => metrics.rpcFaults.inc({ interface: iface, status: `0x${status.toString(16)}` }),
  });

  const interfaces: RpcInterface<CallContext>[] = [instrument(witness.rpcInterface, metrics)];
  const clusapiAnonymous = (c: WitnessdConfig): boolean => c.auth.allowAnonymous && c.clusapi.allowAnonymous;
  const clusapi = o.clusapi ?? config.clusapi.enabled
    ? createClusapiService({ model, logger: child('clusapi'), allowAnonymous: clusapiAnonymous(config) })
    : undefined;
  if (clusapi) interfaces.push(instrument(clusapi.rpcInterface, metrics));

  // Following CTDB: bind the node address here, the hosted public IPs through followAddresses
  // (a public IP that is not on the interface yet must not stop witnessd from starting).
  const addresses = ctdb && config.ctdb?.followIps ? [ctdb.nodeAddress] : config.listener.addresses;
  let admin: AdminServer | undefined;
  try {
    const witnessEndpoint = await rpc.listen({
      address: addresses, port: o.witnessPort ?? config.listener.witnessPort, interfaces, name: 'witness',
    });
    const epmPort = o.epmPort ?? config.listener.epmPort;
    const epmEndpoint = epmPort === 0 && o.epmPort === undefined
      ? undefined
      // Lookups answer anonymous callers (as the Windows and Samba endpoint mappers do): a
      // client resolves the witness port with an unauthenticated ept_map before it binds with
      // credentials. The minimum level guards Witness and clusapi, not the port directory.
      : await rpc.listen({
        address: addresses, port: epmPort, name: 'epmapper',
        interfaces: [{ iface: createEndpointMapper(rpc), minAuthLevel: AuthLevel.None }],
      });
    admin = await startAdminServer({
      model, witness: witness.admin, metrics, config, watcher, feed,
      logger: child('admin'),
      configPath: o.configPath,
      address: o.adminAddress ?? (ctdb ? ctdbAdminAddress(config, ctdb) : undefined),
      ...(ctdb ? { ctdb } : {}),
      reload: () => handle.reload(),
      reloadStatus: () => handle.lastReload,
    });
    const settled = ctdb && config.ctdb?.followIps
      ? followAddresses(rpc, epmEndpoint ? [witnessEndpoint, epmEndpoint] : [witnessEndpoint], ctdb, child('ctdb'))
      : () => Promise.resolve();
    await settled();
    watcher.start();
    const adminServer = admin;
    let closing: Promise<void> | undefined;
    // What a reload applies beside the model and the watcher; everything else waits for a restart.
    const live: LiveSettings = {
      startedWith: config,
      reloadable: ['auth.minimumLevel', 'auth.allowAnonymous', 'auth.accounts', 'auth.accountsFile', 'logging.level', 'clusapi.allowAnonymous'],
      apply(next) {
        authOptions.accounts = accountSourceFromConfig(next.auth, authLog);
        authOptions.allowAnonymous = next.auth.allowAnonymous;
        if (clusapi) clusapi.resources.allowAnonymous = clusapiAnonymous(next);
        rpc.setMinAuthLevel(minAuthLevelOf(next));
        for (const l of loggers) l.level = next.logging.level;
      },
    };
    let lastReload: ReloadRecord | undefined;
    const handle: Witnessd = {
      // The witness endpoint's own list: in CTDB mode it follows takeip/releaseip.
      config, model, watcher, witness, rpc, metrics, admin: adminServer, addresses: witnessEndpoint.addresses, witnessEndpoint, epmEndpoint, ctdb,
      listenersSettled: settled,
      get lastReload() {
        return lastReload;
      },
      async reload() {
        if (!o.configPath) throw new ConfigError([{ file: '(embedded demo)', line: 1, column: 1, field: '', message: 'the embedded demo configuration cannot be reloaded; start witnessd with --config FILE' }]);
        const at = new Date().toISOString();
        try {
          security.kerberos?.reload(); // a rolled-over keytab now, not at the next bind
          const r = ctdb ? await ctdb.reload(o.configPath, watcher, live) : await reloadConfigFile(model, watcher, o.configPath, live);
          metrics.reloads.inc({ result: 'ok' });
          lastReload = { at, ok: true, source: r.source, applied: r.applied, restartNeeded: r.restartNeeded };
          logger.info({ source: r.source, events: r.events.length, applied: r.applied, findings: r.findings.length }, 'configuration reloaded');
          if (r.restartNeeded.length > 0) logger.warn({ restartNeeded: r.restartNeeded }, `reloaded, but these settings keep their running value until a restart: ${r.restartNeeded.join(', ')}`);
          return r;
        } catch (err) {
          metrics.reloads.inc({ result: 'failed' });
          const message = err instanceof ConfigError || err instanceof ReloadRefused ? err.message : String((err as Error)?.message ?? err);
          lastReload = { at, ok: false, source: o.configPath, error: message };
          logger.error({ source: o.configPath, problems: message }, 'reload refused; the running configuration stays');
          throw err;
        }
      },
      close() {
        closing ??= (async () => {
          ctdb?.close();
          await watcher.stop();
          // The RPC runtime aborts pending calls (AsyncNotify) and answers them before closing.
          await rpc.close();
          witness.close();
          await adminServer.close();
          offFeed();
          feed.close();
        })();
        return closing;
      },
    };
    return handle;
  } catch (err) {
    ctdb?.close();
    await watcher.stop();
    witness.close();
    await rpc.close();
    await admin?.close();
    offFeed();
    feed.close();
    throw err;
  }
}
