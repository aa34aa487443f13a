/**
 * witnessd assembled: configuration → cluster model → health watcher → Witness service (and
 * the clusapi resource view) → DCE/RPC runtime with the endpoint mapper → admin API. This is
 * the only place that knows every room; the rooms only know their seams.
 */
import type { Logger } from 'pino';
import { LogLimiter, limitedLog } from '../lib/log-limit';
import { healthMetricsSink, sameLabels, startAdminServer, StatusFeed, WitnessdMetrics, countRegistrationEvents, type AdminServer, type Labels, type ReloadRecord } from '../admin';
import { accountSourceFromConfig } from '../auth';
import { createClusapiService } from '../clusapi';
import { ClusterModel, HealthWatcher, reloadConfigFile, ReloadRefused, type LiveSettings, type ReloadOutcome } from '../cluster';
import type { ClusterSource } from '../cluster/source';
import { ConfigError, type AuthLevelName, type WitnessdConfig } from '../config';
import type { RpcCall, RpcInterface } from '../ndr/dispatch';
import { AuthLevel, FaultStatus, RpcServer, type CallContext, type RpcEndpoint, type RpcLimits } from '../rpc';
import { createEndpointMapper } from '../rpc/epm/endpoint-mapper';
import { createLogger } from './logging';
import { createWitnessService, type Clock, type WitnessOptions, type WitnessServiceHandle } from '../witness';
import { securityProvidersFromConfig } from './security-providers';
import { followAddresses } from './listeners';
import { openClusterSource } from './sources';

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
  /** The cluster source feeding the model (cluster.source). */
  readonly source: ClusterSource;
  /** Resolves once the listeners follow the source's last address change (CTDB: takeip/releaseip). */
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

/** A Witness operation's result as labels: frozen, the same object for a fan-out's ten thousand (sameLabels). */
const resultLabels = (operation: string, result: number): Labels => Object.freeze({ operation, result: `0x${result.toString(16)}` });
const results = sameLabels();

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Counts calls per interface for /metrics without the runtime knowing metrics (faults come
 * from the runtime's onFault hook). Adds no promise to a call that waits.
 */
function instrument(iface: RpcInterface<CallContext>, metrics: WitnessdMetrics): RpcInterface<CallContext> {
  // Opnums the interface does not have share one series: a client sending junk opnums must not
  // fill the metric's series cap (new real series would then be dropped) nor grow /metrics.
  const label = (opnum: number): number | string => (opnum < iface.operationNames.length ? opnum : 'unknown');
  return {
    name: iface.name,
    syntax: iface.syntax,
    operationNames: iface.operationNames,
    dispatch(opnum, stub, call) {
      metrics.rpcCalls.inc({ interface: iface.name, opnum: label(opnum) });
      return iface.dispatch(opnum, stub, call);
    },
    ...(iface.dispatchNdr64 && {
      dispatchNdr64(opnum: number, stub: Buffer, call: RpcCall<CallContext>) {
        metrics.rpcCalls.inc({ interface: iface.name, opnum: label(opnum) });
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
  const metrics = new WitnessdMetrics();
  // One rate limit for every line a peer can cause (RPC runtime, auth, Witness): src/lib/log-limit.ts.
  const logLimiter = new LogLimiter();
  // The source builds the model from its first facts (CTDB: nodes and public IPs from ctdbd).
  const source = await openClusterSource({
    config, logger: child(config.cluster.source), modelLogger: child('cluster'), healthLogger: child('health'), healthMetrics: healthMetricsSink(metrics), ctdbSocket: o.ctdbSocket,
  });
  const { model, watcher } = source;
  for (const f of model.findings()) logger[f.severity === 'error' ? 'error' : 'warn']({ finding: f }, `deployment: ${f.message}`);

  // The status page's timeline hears each cluster event before the Witness service handles
  // it, so that an event's entry comes before the notifications it causes.
  const feed = new StatusFeed();
  const offFeed = model.subscribe((e) => feed.clusterEvent(e));
  const witness = createWitnessService({
    model,
    logger: child('witness'),
    onResult: (operation, result) => metrics.witnessResults.inc(results.get(operation, result, undefined, resultLabels)),
    logLimiter,
    options: {
      unusedTimeoutMs: config.timeouts.unusedRegistrationSeconds * 1000,
      keepAliveMaxSeconds: config.timeouts.keepAliveMaxSeconds,
      maxRegistrations: config.limits.maxRegistrations,
      maxRegistrationsPerClient: config.limits.maxRegistrationsPerClient,
      maxRegistrationsPerSource: config.limits.maxRegistrationsPerSource,
      forcedUnregisterMs: config.witness.forcedUnregisterSeconds * 1000,
      forcedUnregisterV1: config.witness.forcedUnregisterV1,
      interfaceGroupName: config.witness.interfaceGroupName,
      ...o.witnessOptions,
    },
    clock: o.clock,
  });
  // The service's one stream: metrics and the status page subscribe (its logs already do).
  const offStream = [countRegistrationEvents(metrics, witness.events), feed.observe(witness.events)];

  // Anonymous access means calls without any auth are accepted, so the runtime's minimum
  // must then be None; authenticated clients still negotiate integrity or privacy.
  const minAuthLevelOf = (c: WitnessdConfig): AuthLevel => (c.auth.allowAnonymous ? AuthLevel.None : AUTH_LEVEL[c.auth.minimumLevel]);
  const authLog = child('auth');
  const firstSvm = config.svms[0];
  const authOptions = {
    accounts: accountSourceFromConfig(config.auth, authLog),
    netbiosComputerName: firstSvm.netbiosName,
    netbiosDomainName: config.auth.accounts.find((a) => a.domain)?.domain ?? firstSvm.netbiosName,
    dnsComputerName: firstSvm.dnsName,
    dnsDomainName: firstSvm.dnsName.split('.').slice(1).join('.') || firstSvm.dnsName,
    allowAnonymous: config.auth.allowAnonymous,
    // Each refused login is a line a peer causes.
    logger: limitedLog(authLog, logLimiter),
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
    logLimiter,
    onFault: (iface, _opnum, status) => metrics.rpcFaults.inc({ interface: iface, status: `0x${status.toString(16)}` }),
  });

  const interfaces: RpcInterface<CallContext>[] = [instrument(witness.rpcInterface, metrics)];
  const clusapiAnonymous = (c: WitnessdConfig): boolean => c.auth.allowAnonymous && c.clusapi.allowAnonymous;
  const clusapi = o.clusapi ?? config.clusapi.enabled
    ? createClusapiService({ model, logger: child('clusapi'), allowAnonymous: clusapiAnonymous(config) })
    : undefined;
  if (clusapi) interfaces.push(instrument(clusapi.rpcInterface, metrics));

  // The others through followAddresses: an address that is not on an interface yet (a public
  // IP CTDB is still adding) must not stop witnessd from starting.
  const addresses = source.startAddresses();
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
      model, witness: witness.admin, metrics, config, source, feed,
      logger: child('admin'),
      configPath: o.configPath,
      address: o.adminAddress ?? source.adminAddress(),
      reload: () => handle.reload(),
      reloadStatus: () => handle.lastReload,
    });
    const following = followAddresses(rpc, epmEndpoint ? [witnessEndpoint, epmEndpoint] : [witnessEndpoint], source, child('listener'));
    const settled = following.settled;
    await settled();
    source.start(witness.admin);
    const adminServer = admin;
    let closing: Promise<void> | undefined;
    // What a reload applies beside the model and the watcher; everything else waits for a restart.
    let prepared: ReturnType<typeof accountSourceFromConfig> | undefined;
    const live: LiveSettings = {
      startedWith: config,
      reloadable: ['auth.minimumLevel', 'auth.allowAnonymous', 'auth.accounts', 'auth.accountsFile', 'logging.level', 'clusapi.allowAnonymous'],
      check(next) {
        try {
          prepared = accountSourceFromConfig(next.auth, authLog);
        } catch (e) {
          const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
          throw new ConfigError([{ file: o.configPath ?? '(embedded demo)', line: 0, column: 0, field: 'auth.accountsFile', message: `cannot read the accounts file ${next.auth.accountsFile ?? ''}: ${why}` }]);
        }
      },
      apply(next) {
        authOptions.accounts = prepared ?? accountSourceFromConfig(next.auth, authLog);
        prepared = undefined;
        authOptions.allowAnonymous = next.auth.allowAnonymous;
        if (clusapi) clusapi.resources.allowAnonymous = clusapiAnonymous(next);
        rpc.setMinAuthLevel(minAuthLevelOf(next));
        for (const l of loggers) l.level = next.logging.level;
      },
    };
    let lastReload: ReloadRecord | undefined;
    const handle: Witnessd = {
      // The witness endpoint's own list: in CTDB mode it follows takeip/releaseip.
      config, model, watcher, witness, rpc, metrics, admin: adminServer, addresses: witnessEndpoint.addresses, witnessEndpoint, epmEndpoint, source,
      listenersSettled: settled,
      get lastReload() {
        return lastReload;
      },
      async reload() {
        if (!o.configPath) throw new ConfigError([{ file: '(embedded demo)', line: 1, column: 1, field: '', message: 'the embedded demo configuration cannot be reloaded; start witnessd with --config FILE' }]);
        const at = new Date().toISOString();
        try {
          security.kerberos?.reload(); // a rolled-over keytab now, not at the next bind
          const r = await reloadConfigFile(source, o.configPath, live);
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
          following.stop();
          await source.close();
          // The RPC runtime aborts pending calls (AsyncNotify) and answers them before closing.
          await rpc.close();
          witness.close();
          await adminServer.close();
          offFeed();
          for (const off of offStream) off();
          feed.close();
        })();
        return closing;
      },
    };
    return handle;
  } catch (err) {
    await source.close();
    witness.close();
    await rpc.close();
    await admin?.close();
    offFeed();
    for (const off of offStream) off();
    feed.close();
    throw err;
  }
}
